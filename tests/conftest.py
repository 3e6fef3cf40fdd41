from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never read or write the user's cache, even when ``RSHW_CACHE`` is set: one cache per
    test session (decoded data, traces and reports are shared by the tests of a session)."""
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path_factory.getbasetemp() / "rshw-cache"))


@pytest.fixture
def shared_data():
    """``shared_data("mnist")``: that folder of ``../shared/data``, or skip where it is absent."""

    def find(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.exists():
            pytest.skip(f"{path} not present (the project's shared data folder)")
        return path

    return find


@pytest.fixture
def train_on_sample():
    """``train_on_sample(out)``: `rshw train` of scnn on the embedded sample, 1 epoch, T=2;
    returns the exit code."""
    from rshw.cli import main

    def run(out: Path) -> int:
        return main(
            [
                "train",
                "--model",
                "scnn",
                "--dataset",
                "cifar10-sample",
                "-T",
                "2",
                "--epochs",
                "1",
                "--batch-size",
                "100",
                "--out",
                str(out),
                "--quiet",
                "--device",
                "cpu",
            ]
        )

    return run


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli(*argv)``: run ``rshw`` in this process; returns (exit code, stdout, stderr)."""
    from rshw.cli import main

    monkeypatch.delenv("RSHW_TRACEBACK", raising=False)

    def run(*argv) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def one_line():
    """``one_line(stderr, *needles)``: stderr is exactly one line, without a traceback, holding
    every needle; returns it."""

    def check(err: str, *needles: str) -> str:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one line, got:\n{err}"
        assert "Traceback" not in err
        for needle in needles:
            assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
        return lines[0]

    return check
