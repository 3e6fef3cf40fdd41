"""Design-space sweeps on Dask: hardware configurations × models × Real Spike variants.

    python -m analyses.sweep GRID.toml [--out results/sweep/NAME] [--workers 2]
        [--scheduler tcp://HOST:8786] [--serial] [--force]

Each point of the grid (see ``rshw/pipeline/sweep.py`` for the file format, ``analyses/grids/`` for
examples) is one task that simulates from the cached trace and returns a summary row. Rows are
stored as they finish (``points/KEY.json``); run the same command again after an interruption
and only the missing points are computed. Writes ``results.parquet``, ``results.csv`` and
Pareto-front figures (energy, latency, area; the dominating points highlighted). An embedded
``LocalCluster`` is used unless ``--scheduler`` names a running one (its workers must see this
folder and the trace cache, e.g. on a shared file system).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from analyses import options, sweep_figures
from rshw.errors import Interrupted, run_guarded
from rshw.pipeline import runcache
from rshw.pipeline.sweep import Point, load_grid, run_point, save_point
from simulators.files import atomic_write_text


def prepare_inputs(grid, out: Path) -> dict[tuple[str, str], tuple[str, ...]]:
    """Trace every (model, variant) once (from the cache when it can): the graph file, activity
    folder and trace key each point reads, and the saved test images when the grid asks for
    accuracy."""
    from rshw.data import load_dataset
    from rshw.pipeline.hardware_accuracy import save_accuracy_inputs
    from rshw.pipeline.simulate import SimulateOptions, prepare_traced

    inputs = {}
    for model in grid.models:
        for variant in grid.variants:
            opts = SimulateOptions(
                model=model,
                variant=variant,
                dataset=grid.dataset,
                data=grid.data,
                images=grid.images,
                hardware=(),
                timesteps=grid.timesteps,
                seed=grid.seed,
                static_input=grid.static_input,
            )
            traced = prepare_traced(opts)
            graph_file = out / "graphs" / f"{Path(model).stem}-{variant}.npz"
            traced.prep.graph.save(graph_file)
            inputs[model, variant] = (
                str(graph_file.resolve()),
                str(traced.activity.path),
                traced.trace_key,
            )
            if grid.accuracy_images:
                inputs[model, variant] += (
                    save_accuracy_inputs(
                        graph_file.with_suffix(".accuracy.npz"),
                        load_dataset(grid.dataset, grid.data, "test"),
                        load_dataset(grid.dataset, grid.data, "train"),
                        grid.accuracy_images,
                        grid.seed,
                    ),
                )
    return inputs


def point_key(point: Point, inputs) -> str:
    """The point's key: the key ``rshw simulate`` gives the same report."""
    from rshw.pipeline.simulate import report_key

    key = report_key(point.run, inputs[point.model, point.variant][2])
    if not point.accuracy_images:
        return key
    saved = inputs[point.model, point.variant][3]
    return f"{key}-acc{point.accuracy_images}-{accuracy_inputs_hash(saved)}"


def accuracy_inputs_hash(path: str) -> str:
    """A short hash of the saved test and calibration images' contents (not the file's bytes,
    which hold zip timestamps): a calibrated ADC range depends on the calibration images, so
    they are part of an accuracy point's key."""
    digest = hashlib.sha256()
    with np.load(path) as saved:
        for name in sorted(saved.files):
            digest.update(name.encode() + np.ascontiguousarray(saved[name]).tobytes())
    return digest.hexdigest()[:16]


def point_task(point: Point, key: str, inputs) -> tuple:
    """``run_point``'s arguments: the point, its graph file and trace, its key, and the saved
    test images when the point measures accuracy."""
    graph_file, activity_dir, _, *accuracy = inputs[point.model, point.variant]
    return (point, graph_file, activity_dir, key, *accuracy[: bool(point.accuracy_images)])


def run_points(
    todo: list[tuple[Point, str]],
    inputs,
    folder: Path,
    workers: int,
    scheduler: str | None,
    serial: bool,
) -> None:
    """Compute ``todo`` serially or on Dask, saving each row the moment it arrives."""
    bar = tqdm(total=len(todo), desc="sweep", unit="point")
    if serial:
        for point, key in todo:
            save_point(folder, run_point(*point_task(point, key, inputs)))
            bar.update()
        bar.close()
        return
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = (
        None
        if scheduler
        else LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    )
    with Client(scheduler or cluster) as client:
        futures = [
            client.submit(run_point, *point_task(p, k, inputs), key=f"point-{k}", pure=False)
            for p, k in todo
        ]
        for future in as_completed(futures):
            save_point(folder, future.result())
            bar.update()
    if cluster is not None:
        cluster.close()
    bar.close()


def sweep(
    grid_file: str,
    out: Path,
    workers: int = 2,
    scheduler: str | None = None,
    serial: bool = False,
    force: bool = False,
) -> dict:
    """Run a grid; returns counts (points, computed now, reused) and the results table path."""
    start = time.perf_counter()
    grid = load_grid(grid_file)
    folder = out / "points"
    folder.mkdir(parents=True, exist_ok=True)
    inputs = prepare_inputs(grid, out)
    keys = [point_key(p, inputs) for p in grid.points]
    todo = [(p, k) for p, k in zip(grid.points, keys, strict=True) if force or not _done(folder, k)]
    try:
        run_points(todo, inputs, folder, workers, scheduler, serial)
    except KeyboardInterrupt:
        done = sum((folder / f"{k}.json").is_file() for k in keys)
        raise Interrupted(
            f"{done} of {len(keys)} points saved in {folder}; run the same command again to "
            "compute the rest"
        ) from None
    rows = [json.loads((folder / f"{k}.json").read_text()) for k in keys]
    table = sweep_figures.mark_pareto(pd.DataFrame(rows))
    table.to_parquet(out / "results.parquet.tmp", index=False)
    (out / "results.parquet.tmp").replace(out / "results.parquet")
    atomic_write_text(out / "results.csv", table.to_csv(index=False))
    figures = sweep_figures.pareto(table, out)
    stats = {
        "points": len(grid.points),
        "computed": len(todo),
        "reused": len(grid.points) - len(todo),
        "seconds": time.perf_counter() - start,
        "workers": "serial" if serial else (scheduler or workers),
        "figures": [p.name for p in figures],
        "grid": str(grid_file),
        "command": " ".join(sys.argv),
    }
    atomic_write_text(out / "manifest.json", json.dumps(stats, indent=2))
    return stats


def _done(folder: Path, key: str) -> bool:
    """Whether the point's row is saved; an unreadable row (a damaged disk, a hand edit) is
    discarded, said in one line, and computed again."""
    path = folder / f"{key}.json"
    if not path.is_file():
        return False
    try:
        json.loads(path.read_text())
    except (ValueError, OSError) as e:
        runcache.discard_damaged(path, e)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("grid", help="grid file (TOML)")
    options.add(p, out=None)
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    p.add_argument("--serial", action="store_true", help="no Dask: one point after another")
    options.add(p, "force")
    args = p.parse_args(argv)
    out = Path(args.out or f"results/sweep/{Path(args.grid).stem}")
    stats = sweep(args.grid, out, args.workers, args.scheduler, args.serial, args.force)
    table = pd.read_csv(out / "results.csv")
    cols = [
        c
        for c in (
            "model",
            "variant",
            "hardware",
            "preset",
            "energy_uj",
            "latency_ms",
            "area_mm2",
            "pareto",
        )
        if c in table
    ]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(
        f"{stats['points']} points: {stats['computed']} computed, {stats['reused']} reused, "
        f"{stats['seconds']:.0f} s; wrote {out}/results.parquet, results.csv, figures"
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
