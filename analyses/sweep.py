"""Design-space sweeps on Dask: hardware configurations × models × Real Spike variants.

    python -m analyses.sweep GRID.toml [--out results/sweep/NAME] [--workers 2]
        [--scheduler tcp://HOST:8786] [--serial] [--force]

Each point of the grid (see ``rshw/pipeline/sweep.py`` for the file format, ``analyses/grids/`` for
examples) is one task that runs the simulate stage on the cached trace and returns a summary row.
Its report is the stage-cache entry ``rshw simulate`` with the same records uses, stored as it
finishes; run the same command again after an interruption and only the missing points are
computed (``--force``: every stage again). Writes ``results.parquet``, ``results.csv`` and
Pareto-front figures (energy, latency, area; the dominating points highlighted). An embedded
``LocalCluster`` is used unless ``--scheduler`` names a running one (its workers must see this
folder and the trace cache, e.g. on a shared file system).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from analyses import sweep_figures
from analyses.dask_cluster import local_cluster, quiet_on_ctrl_c
from rshw import options
from rshw.errors import Interrupted, run_guarded
from rshw.pipeline import runcache
from rshw.pipeline.sweep import Inputs, Point, load_grid, point_key, run_point
from simulators.files import atomic_write_text


def prepare_inputs(grid, force: bool = False) -> dict[tuple[str, str], Inputs]:
    """Fold, trace and verify every (model, variant) once through the stages (from the cache when
    it can): what each of its points reads."""
    from rshw.pipeline import stages
    from rshw.pipeline.plan import AccuracyRecord, load_split, resolve_data, resolve_model

    inputs = {}
    for model in grid.models:
        for variant in grid.variants:
            record = resolve_model(
                model,
                variant,
                grid.dataset,
                grid.data,
                None,
                grid.timesteps,
                grid.seed,
                static_input=grid.static_input,
            )
            folded = stages.fold(record, force)
            split = load_split(grid.dataset, grid.data, "test", grid.timesteps)
            data = resolve_data(
                grid.dataset, grid.data, grid.timesteps, grid.images, grid.seed, loaded=split
            )
            images = stages.Images(data, split)
            traced = stages.trace(folded.graph, images, force)
            stages.verify(folded, traced, images, force)
            accuracy = None
            if grid.accuracy_images:
                tested = resolve_data(
                    grid.dataset, grid.data, grid.timesteps, grid.accuracy_images, grid.seed
                )
                accuracy = AccuracyRecord(tested, grid.calibration_images)
            inputs[model, variant] = Inputs(record, folded.key, traced.key, accuracy)
    return inputs


def run_points(
    points: list[Point],
    inputs,
    workers: int,
    scheduler: str | None,
    serial: bool,
    force: bool,
) -> list[tuple[dict, bool]]:
    """Every point's row (and whether its report was cached), serially or on Dask; each report
    is in the stage cache the moment its point finishes (the bar is closed however this ends, so
    an interruption's message starts a line of its own)."""
    with tqdm(total=len(points), desc="sweep", unit="point") as bar:
        rows: list = [None] * len(points)
        if serial:
            for n, point in enumerate(points):
                rows[n] = run_point(point, inputs[point.model, point.variant], force)
                bar.update()
            return rows
        from dask.distributed import Client, as_completed

        cluster = contextlib.nullcontext(scheduler) if scheduler else local_cluster(workers)
        with quiet_on_ctrl_c(), cluster as address, Client(address) as client:
            futures = {
                client.submit(
                    run_point, p, inputs[p.model, p.variant], force, key=f"point-{n}", pure=False
                ): n
                for n, p in enumerate(points)
            }
            for future in as_completed(futures):
                rows[futures[future]] = future.result()
                bar.update()
        return rows


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
    out.mkdir(parents=True, exist_ok=True)
    inputs = prepare_inputs(grid, force)
    try:
        rows = run_points(grid.points, inputs, workers, scheduler, serial, force)
    except KeyboardInterrupt:
        done = sum(
            runcache.entry(point_key(p, inputs[p.model, p.variant])).is_dir() for p in grid.points
        )
        raise Interrupted(
            f"{done} of {len(grid.points)} points saved in the cache ({runcache.cache_root()}); "
            "run the same command again to compute the rest"
        ) from None
    reused = sum(cached for _, cached in rows)
    table = sweep_figures.mark_pareto(pd.DataFrame([row for row, _ in rows]))
    table.to_parquet(out / "results.parquet.tmp", index=False)
    (out / "results.parquet.tmp").replace(out / "results.parquet")
    atomic_write_text(out / "results.csv", table.to_csv(index=False))
    figures = sweep_figures.pareto(table, out)
    stats = {
        "points": len(grid.points),
        "computed": len(grid.points) - reused,
        "reused": reused,
        "seconds": time.perf_counter() - start,
        "workers": "serial" if serial else (scheduler or workers),
        "figures": [p.name for p in figures],
        "grid": str(grid_file),
        "command": " ".join(sys.argv),
    }
    atomic_write_text(out / "manifest.json", json.dumps(stats, indent=2))
    return stats


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
