"""The run cache: keys cover the code, entries are published atomically, first rename wins."""

import pytest

from rshw.pipeline import runcache


def test_keys_differ_by_input_and_kind_and_are_stable():
    a = runcache.key("trace", images=3, meta={"timesteps": 2})
    assert a == runcache.key("trace", meta={"timesteps": 2}, images=3)
    assert a != runcache.key("trace", images=3, meta={"timesteps": 4})
    assert a != runcache.key("report", images=3, meta={"timesteps": 2})
    assert a.startswith("trace-")


def test_the_code_hash_is_computed_once_per_process():
    runcache.code_hash()
    before = runcache.code_hash.cache_info().hits
    runcache.code_hash()
    assert runcache.code_hash.cache_info().hits == before + 1


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
