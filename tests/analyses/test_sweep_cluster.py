"""A sweep on a real Dask cluster (scheduler and two workers as separate processes on 127.0.0.1)
survives a worker killed mid-sweep, with results equal to a serial run."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from analyses.sweep import sweep
from tests.analyses.test_sweep import GRID as SMALL_GRID

ROOT = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).with_name("dask")
GRID = SMALL_GRID.replace(
    "grid = {weight_bits = [4, 8, 16, 32], membrane_bits = [8, 16]}",
    "grid = {weight_bits = [4, 6, 8, 12, 16, 32], membrane_bits = [4, 8, 12, 16, 20, 24, 28, 32]}",
)
POINTS = 2 * 6 * 8


def _start(args: list[str], log: Path) -> subprocess.Popen:
    """``args`` in its own session (so it can be killed with its children), stderr to ``log``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    with open(log, "w") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)


def _table(folder: Path) -> pd.DataFrame:
    table = pd.read_parquet(folder / "results.parquet")
    return table.sort_values("point").reset_index(drop=True).select_dtypes("number")


@pytest.mark.slow
@pytest.mark.skipif(not DASK.exists(), reason=f"no dask command at {DASK}")
def test_a_worker_killed_mid_sweep(tmp_path, monkeypatch):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    serial = sweep(str(grid), tmp_path / "serial", serial=True)
    assert serial["points"] == POINTS
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cluster-cache"))  # the cluster computes all
    reports = tmp_path / "cluster-cache" / "runs"

    address_file = tmp_path / "scheduler.json"
    started: list[subprocess.Popen] = []
    try:
        started.append(
            _start(
                [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", str(address_file)],
                tmp_path / "scheduler.log",
            )
        )  # fmt: skip
        _wait_for(address_file.exists, 60, "the scheduler")
        address = json.loads(address_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        workers = [
            _start(
                [str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--host", "127.0.0.1", "--name", f"w{i}"],
                tmp_path / f"worker{i}.log",
            )
            for i in range(2)
        ]  # fmt: skip
        started += workers
        from dask.distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)

        out = tmp_path / "cluster"
        run = _start(
            [sys.executable, "-m", "analyses.sweep", str(grid), "--out", str(out),
             "--scheduler", address],
            tmp_path / "sweep.log",
        )  # fmt: skip
        started.append(run)
        _wait_for(lambda: len(list(reports.glob("simulate-*"))) >= 2, 120, "the first points")
        workers[0].kill()
        done_at_kill = len(list(reports.glob("simulate-*")))
        assert done_at_kill < POINTS, "the sweep ended before the worker was killed"
        assert run.wait(timeout=180) == 0, (tmp_path / "sweep.log").read_text()[-2000:]
        assert workers[0].wait(timeout=10) == -signal.SIGKILL
        assert workers[1].poll() is None  # the survivor computed the rest
        manifest = json.loads((out / "manifest.json").read_text())
        # every point once: computed by the cluster, or (at most the one the killed worker was
        # on, its single thread) published to the shared stage cache just before the kill and
        # found there when the task was rescheduled
        assert manifest["computed"] + manifest["reused"] == POINTS
        assert manifest["reused"] <= 1
        pd.testing.assert_frame_equal(_table(tmp_path / "serial"), _table(out))
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.mark.slow
def test_ctrl_c_on_the_local_cluster_prints_only_how_to_resume(tmp_path, monkeypatch):
    """A terminal's Ctrl-C signals the whole process group, the LocalCluster's worker processes
    included: only the sweep's own line may reach stderr, with no worker traceback."""
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    out = tmp_path / "local"
    cache = tmp_path / "cache"
    monkeypatch.setenv("RSHW_CACHE", str(cache))  # the sweep's process inherits it
    reports = cache / "runs"
    run = _start(
        [sys.executable, "-m", "analyses.sweep", str(grid), "--out", str(out), "--workers", "2"],
        tmp_path / "sweep.log",
    )
    try:
        _wait_for(lambda: any(reports.glob("simulate-*")), 300, "the first point")
        os.killpg(run.pid, signal.SIGINT)
        assert run.wait(timeout=120) == 130  # 128 + SIGINT
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=10)
    lines = (tmp_path / "sweep.log").read_text().replace("\r", "\n").splitlines()
    bars = ("trace:", "sweep:")  # tqdm's progress bars
    said = [line for line in lines if line.strip() and not line.startswith(bars)]
    assert len(said) == 1, said
    saved, total = re.fullmatch(
        rf"sweep\.py: (\d+) of (\d+) points saved in the cache \({re.escape(str(reports))}\); "
        r"run the same command again to compute the rest",
        said[0],
    ).groups()
    assert int(total) == POINTS and int(saved) <= len(list(reports.glob("simulate-*")))
