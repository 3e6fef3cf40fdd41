"""Design-space sweeps on Dask: hardware configurations × models × Real Spike variants.

    python analyses/sweep.py GRID.toml [--out results/sweep/NAME] [--workers 2]
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
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd
from tqdm import tqdm

from analyses import sweep_figures
from rshw.errors import run_guarded
from rshw.pipeline.sweep import Point, load_grid, run_point, save_point
from simulators.files import atomic_write_text


def prepare_inputs(grid, out: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """Trace every (model, variant) once; the graph file and activity folder each point reads."""
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
            )
            traced = prepare_traced(opts)
            graph_file = out / "graphs" / f"{Path(model).stem}-{variant}.npz"
            traced.prep.graph.save(graph_file)
            inputs[model, variant] = (str(graph_file.resolve()), str(traced.activity.path))
    return inputs


def run_points(
    todo: list[Point], inputs, folder: Path, workers: int, scheduler: str | None, serial: bool
) -> None:
    """Compute ``todo`` serially or on Dask, saving each row the moment it arrives."""
    bar = tqdm(total=len(todo), desc="sweep", unit="point")
    if serial:
        for point in todo:
            save_point(folder, run_point(point, *inputs[point.model, point.variant]))
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
            client.submit(
                run_point, p, *inputs[p.model, p.variant], key=f"point-{p.key}", pure=False
            )
            for p in todo
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
    todo = [p for p in grid.points if force or not (folder / f"{p.key}.json").is_file()]
    inputs = prepare_inputs(grid, out) if todo else {}
    run_points(todo, inputs, folder, workers, scheduler, serial)
    rows = [json.loads((folder / f"{p.key}.json").read_text()) for p in grid.points]
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("grid", help="grid file (TOML)")
    p.add_argument("--out", default=None, help="default results/sweep/GRID-NAME")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    p.add_argument("--serial", action="store_true", help="no Dask: one point after another")
    p.add_argument("--force", action="store_true", help="recompute every point")
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
