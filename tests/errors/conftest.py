"""What every mistake must give: exit 2 (130 for Ctrl-C), one line on stderr that names the
culprit, no traceback, nothing on stdout."""

import pytest


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
