"""The run cache: keys cover the code, entries are published atomically, first rename wins."""

import sys

import pytest

from rshw.pipeline import runcache, stages


def test_keys_differ_by_input_and_stage_and_are_stable():
    a = stages.key("trace", images=3, meta={"timesteps": 2})
    assert a == stages.key("trace", meta={"timesteps": 2}, images=3)
    assert a != stages.key("trace", images=3, meta={"timesteps": 4})
    assert a != stages.key("simulate", images=3, meta={"timesteps": 2})
    assert a.startswith("trace-")


def test_the_code_hash_covers_every_source_and_preset_file_and_nothing_else(tmp_path, monkeypatch):
    """A package of our own: editing any .py or .toml file, or adding one, changes the hash; a
    compiled file or a figure does not."""
    package = tmp_path / "probe_pkg"
    (package / "presets").mkdir(parents=True)
    (package / "__init__.py").write_text("X = 1\n")
    (package / "presets" / "chip.toml").write_text("energy = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(stages, "CODE_PACKAGES", ("probe_pkg",))
    monkeypatch.delitem(sys.modules, "probe_pkg", raising=False)
    digest = stages.code_hash.__wrapped__

    def changed_by(edit) -> bool:
        before = digest()
        edit()
        return digest() != before

    assert changed_by(lambda: (package / "presets" / "chip.toml").write_text("energy = 2\n"))
    assert changed_by(lambda: (package / "__init__.py").write_text("X = 2\n"))
    assert changed_by(lambda: (package / "new.py").write_text(""))
    (package / "__pycache__").mkdir()
    assert not changed_by(lambda: (package / "__pycache__" / "x.py").write_text("y"))
    assert not changed_by(lambda: (package / "figure.png").write_bytes(b"png"))


def test_the_first_published_entry_wins(tmp_path):
    target = tmp_path / "entry"
    for text in ("first", "second"):
        tmp = runcache.private_path(target)
        tmp.mkdir()
        (tmp / "data.txt").write_text(text)
        runcache.publish(tmp, target)
        assert not tmp.exists()
    assert (target / "data.txt").read_text() == "first"
    single = tmp_path / "one.json"
    for text in ("first", "second"):
        with runcache.writing(single) as tmp:
            tmp.write_text(text)
    assert single.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry", "one.json"]


def test_private_paths_never_collide(tmp_path):
    names = {runcache.private_path(tmp_path / "x").name for _ in range(100)}
    assert len(names) == 100


def test_a_failed_swap_keeps_the_previous_folder(tmp_path):
    target = tmp_path / "run"
    with runcache.swapping(target) as folder:
        (folder / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="boom"), runcache.swapping(target) as folder:
        (folder / "new.txt").write_text("new")
        raise RuntimeError("boom")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    with runcache.swapping(target) as folder:
        (folder / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
