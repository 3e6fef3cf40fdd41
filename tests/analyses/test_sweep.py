"""Sweeps: Dask equals serial, an interrupted sweep recomputes only what is missing."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.sweep import sweep
from rshw.pipeline.sweep import GridError, load_grid, pareto_mask

ROOT = Path(__file__).resolve().parents[2]
GRID = """
[sweep]
models = ["scnn"]
variants = ["channel", "element"]
images = 2
timesteps = 2

[[hardware]]
kind = "analytic"
preset = "horowitz-45nm-fp32"
grid = {weight_bits = [4, 8, 16, 32], membrane_bits = [8, 16]}
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test counts what it computes: a stage cache of its own."""
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "runs"


def reports(cache: Path) -> list[Path]:
    """The simulate-stage entries (one per point) in a cache."""
    return sorted(cache.glob("simulate-*"))


@pytest.fixture
def grid_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(GRID)
    return path


def numeric(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values("point").reset_index(drop=True).select_dtypes("number")


def test_dask_two_workers_equals_serial(grid_file, tmp_path, monkeypatch):
    serial = sweep(str(grid_file), tmp_path / "serial", serial=True)
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "dask-cache"))  # the workers compute all
    dask = sweep(str(grid_file), tmp_path / "dask", workers=2)
    assert serial["points"] == dask["points"] == 16 and dask["computed"] == 16
    a = pd.read_parquet(tmp_path / "serial" / "results.parquet")
    b = pd.read_parquet(tmp_path / "dask" / "results.parquet")
    pd.testing.assert_frame_equal(numeric(a), numeric(b))
    assert a.pareto.any()


def test_rerun_computes_only_missing_points(grid_file, tmp_path, own_cache):
    out = tmp_path / "s"
    first = sweep(str(grid_file), out, serial=True)
    entries = reports(own_cache)
    assert len(entries) == 16
    for entry in entries[::2]:
        shutil.rmtree(entry)
    kept = {e.name: (e / "report.json").stat().st_mtime_ns for e in entries[1::2]}
    second = sweep(str(grid_file), out, serial=True)
    assert second["computed"] == 8 and second["reused"] == 8
    assert {e.name: (e / "report.json").stat().st_mtime_ns for e in entries[1::2]} == kept
    again = sweep(str(grid_file), out, serial=True)
    assert again["computed"] == 0 and first["points"] == 16


def test_killed_sweep_resumes(grid_file, tmp_path, own_cache):
    out = tmp_path / "k"
    cmd = [
        sys.executable,
        "-m",
        "analyses.sweep",
        str(grid_file),
        "--out",
        str(out),
        "--serial",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(reports(own_cache)) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(reports(own_cache))
    stats = sweep(str(grid_file), out, serial=True)
    assert stats["computed"] == 16 - done and stats["reused"] == done


@pytest.mark.parametrize(
    ("old", "new"), [("timesteps = 2", "timesteps = 3"), ("images = 2", "images = 3")]
)
def test_a_changed_grid_T_or_images_recomputes_every_point(grid_file, tmp_path, old, new):
    out = tmp_path / "s"
    assert sweep(str(grid_file), out, serial=True)["computed"] == 16
    grid_file.write_text(GRID.replace(old, new))
    again = sweep(str(grid_file), out, serial=True)
    assert again["computed"] == 16 and again["reused"] == 0


def test_a_sweep_point_is_the_simulate_run_with_the_same_records(grid_file, tmp_path):
    from rshw.cli import main

    settings = ["--hw-option", "analytic.weight_bits=8", "--hw-option", "analytic.membrane_bits=16"]
    argv = ["simulate", "--model", "scnn", "--hw", "analytic", "--images", "2", "-T", "2"]
    assert main([*argv, *settings, "--out", str(tmp_path / "run")]) == 0
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    stats = sweep(str(grid_file), tmp_path / "s", serial=True)
    assert stats["computed"] == 15 and stats["reused"] == 1  # that point was simulated
    table = pd.read_csv(tmp_path / "s" / "results.csv")
    point = table[
        (table.variant == "channel")
        & (table["cfg.weight_bits"] == 8)
        & (table["cfg.membrane_bits"] == 16)
    ]
    assert point.point.tolist() == [manifest["reports"]["analytic"]["cache"]]
    assert point.energy_uj.iloc[0] == pd.read_csv(tmp_path / "run" / "summary.csv").energy_uj[0]


def test_grid_errors_name_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(GRID.replace("weight_bits", "wieght_bits"))
    with pytest.raises(Exception, match="wieght_bits"):
        load_grid(bad)
    bad.write_text(GRID.replace('kind = "analytic"', 'kind = "fpga"'))
    with pytest.raises(GridError, match="'kind' must be one of"):
        load_grid(bad)
    bad.write_text(GRID.replace("images = 2", "imgs = 2"))
    with pytest.raises(GridError, match=r"unknown key\(s\) \['imgs'\]"):
        load_grid(bad)
    with pytest.raises(GridError, match="no grid file"):
        load_grid(tmp_path / "missing.toml")


def test_pareto_mask():
    values = np.array([[1, 5], [2, 2], [5, 1], [3, 3], [2, 2]])
    assert pareto_mask(values).tolist() == [True, True, True, False, True]


def test_manifest_records_the_run(grid_file, tmp_path):
    sweep(str(grid_file), tmp_path / "m", serial=True)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["points"] == 16 and manifest["figures"] == []  # analytic: energy only
