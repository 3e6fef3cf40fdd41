"""The simulate pipeline and sweeps: damaged cache entries are discarded and recomputed (said in
one line), T must match the checkpoint, grid values of the wrong type are refused when the grid
is read, only a mapping that does not fit is an infeasible point, and Ctrl-C keeps the points."""

import json

import pandas as pd
import pytest

import rshw.pipeline.sweep as sweep_module
from analyses.sweep import sweep
from rshw.errors import Interrupted
from rshw.models import create_model
from rshw.pipeline import runcache
from rshw.pipeline.sweep import GridError, load_grid
from rshw.training import checkpoint as ckpt
from simulators.cim.mapping import MappingError
from tests.analyses.test_sweep import GRID

BASE = ["simulate", "--model", "scnn", "--hw", "analytic", "--images", "2", "-T", "2"]


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "runs"


def _entries(root, pattern):
    found = sorted(root.glob(pattern))
    assert found, f"no {pattern} under {root}"
    return found


def _cut(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    ("damage", "pattern"),
    [
        (lambda root: _cut(_entries(root, "trace-*/counts.npz")[0]), "trace-"),
        (lambda root: _entries(root, "verify-*/verify.json")[0].write_text("{"), "verify-"),
        (lambda root: _cut(_entries(root, "simulate-*/report.csv")[0]), "simulate-"),
        (lambda root: _entries(root, "simulate-*/report.json")[0].write_text("[1,"), "simulate-"),
        (lambda root: _cut(_entries(root, "fold-*/graph.npz")[0]), "fold-"),
    ],
)
def test_a_damaged_cache_entry_is_recomputed(tmp_path, own_cache, cli, damage, pattern):
    out = tmp_path / "run"
    assert cli(*BASE, "--out", out)[0] == 0
    first = (out / "summary.csv").read_text()
    damage(own_cache)
    code, _, err = cli(*BASE, "--out", out)
    assert code == 0, err
    said = [line for line in err.splitlines() if line.startswith("discarding damaged cache")]
    assert len(said) == 1 and pattern in said[0] and "computing it again" in said[0]
    again = (out / "summary.csv").read_text()
    assert again.split("\n")[1].split(",")[:6] == first.split("\n")[1].split(",")[:6]


def test_a_checkpoint_of_another_t_is_refused(tmp_path, cli, one_line):
    model = create_model("scnn", realspike="channel", timesteps=2, in_channels=3, input_size=32)
    stem = ckpt.save_checkpoint(tmp_path / "t2", model, {})
    code, out, err = cli(*BASE[:-2], "-T", "4", "--ckpt", stem, "--out", tmp_path / "run")
    assert code == 2 and out == "" and not (tmp_path / "run").exists()
    one_line(err, f"checkpoint {stem} was trained with T=2, not the T=4 asked for: pass -T 2")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("images = 2", 'images = "2"'), "[sweep] images must be int, got '2'"),
        (("images = 2", "images = true"), "[sweep] images must be int, got True"),
        (("images = 2", "images = 0"), "[sweep] images must be >= 1, got 0"),
        (("timesteps = 2", "timesteps = -1"), "[sweep] timesteps must be >= 1, got -1"),
        (('models = ["scnn"]', 'models = "scnn"'), "models must be a non-empty list of str"),
        (('variants = ["channel", "element"]', "variants = []"), "variants must be a non-empty"),
    ],
)
def test_grid_values_of_the_wrong_type(tmp_path, edit, message):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.replace(*edit))
    with pytest.raises(GridError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_grid(grid)


def test_grid_option_of_the_wrong_type_names_block_key_and_value(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(
        GRID.split("[[hardware]]")[0]
        + '[[hardware]]\nkind = "gpu"\npreset = "h200"\ngrid = {batch = [0, "x"]}\n'
    )
    with pytest.raises(
        GridError, match=r"\[\[hardware\]\] #1: gpu option batch must be int, got 'x'"
    ):
        load_grid(grid)


def _grid(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(GRID)
    return str(path)


def test_only_the_declared_error_of_a_hardware_is_infeasible(tmp_path, own_cache, monkeypatch):
    import simulators.analytic

    def no_room(*_):
        raise MappingError("the network needs 9 tiles; the chip has 4")

    monkeypatch.setattr(sweep_module.HardwareRun, "simulate", no_room)
    with pytest.raises(MappingError):  # not declared by the analytic model: a crash
        sweep(_grid(tmp_path), tmp_path / "s", serial=True)
    monkeypatch.setattr(simulators.analytic, "INFEASIBLE", (MappingError,))
    stats = sweep(_grid(tmp_path), tmp_path / "s", serial=True)
    rows = pd.read_csv(tmp_path / "s" / "results.csv")
    assert stats["points"] == len(rows) == 16
    assert set(zip(rows.feasible, rows.error, strict=True)) == {
        (False, "the network needs 9 tiles; the chip has 4")
    }


def _fail_after(count, error, monkeypatch):
    real, calls = sweep_module.HardwareRun.simulate, []

    def simulate(self, graph, activity):
        calls.append(1)
        if len(calls) > count:
            raise error
        return real(self, graph, activity)

    monkeypatch.setattr(sweep_module.HardwareRun, "simulate", simulate)


def test_any_other_error_stops_the_sweep_and_keeps_the_points(tmp_path, own_cache, monkeypatch):
    with monkeypatch.context() as m:
        _fail_after(5, ValueError("a bug in a model"), m)
        with pytest.raises(ValueError, match="a bug in a model"):
            sweep(_grid(tmp_path), tmp_path / "s", serial=True)
    assert len(list(own_cache.glob("simulate-*"))) == 5
    stats = sweep(_grid(tmp_path), tmp_path / "s", serial=True)
    assert stats["computed"] == 11 and stats["reused"] == 5


def test_ctrl_c_in_a_sweep_says_how_many_points_are_kept(tmp_path, own_cache, monkeypatch):
    with monkeypatch.context() as m:
        _fail_after(3, KeyboardInterrupt(), m)
        with pytest.raises(Interrupted) as info:
            sweep(_grid(tmp_path), tmp_path / "s", serial=True)
    assert str(info.value) == (
        f"3 of 16 points saved in the cache ({own_cache}); run the same command again to "
        "compute the rest"
    )


def test_an_unreadable_point_is_computed_again(tmp_path, own_cache, capsys):
    sweep(_grid(tmp_path), tmp_path / "s", serial=True)
    damaged = sorted(own_cache.glob("simulate-*"))[0]
    (damaged / "report.json").write_text('{"point": ')
    capsys.readouterr()
    stats = sweep(_grid(tmp_path), tmp_path / "s", serial=True)
    assert stats["computed"] == 1 and stats["reused"] == 15
    assert f"discarding damaged cache entry {damaged}" in capsys.readouterr().err
    assert json.loads((damaged / "report.json").read_text())


def test_runcache_discard_damaged_says_one_line(tmp_path, capsys):
    folder = tmp_path / "entry"
    folder.mkdir()
    (folder / "x").write_text("1")
    runcache.discard_damaged(folder, ValueError("cut"))
    assert not folder.exists()
    assert capsys.readouterr().err == (
        f"discarding damaged cache entry {folder} (ValueError: cut); computing it again\n"
    )
