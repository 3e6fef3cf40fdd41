"""Sweep wall time with 1 and 2 Dask workers on this machine, and their ratio.

    python -m bench.sweep_scaling [GRID.toml]     (default: analyses/grids/analytic-precision.toml)

Both runs compute every point from the same folded and traced networks, which are prepared
before timing: each run gets a copy of that cache with no simulate entries (``--force`` would
fold and trace again). The 1-worker run is the baseline measured in the same process. Prints a
table and writes bench/results/sweep_scaling.json.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from analyses.sweep import prepare_inputs, sweep
from bench.common import timed, write_result
from rshw.pipeline.sweep import load_grid

DEFAULT_GRID = (
    Path(__file__).resolve().parents[1] / "analyses" / "grids" / "analytic-precision.toml"
)


def main() -> None:
    grid_file = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT_GRID)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared"
        os.environ["RSHW_CACHE"] = str(prepared)
        prepare_inputs(load_grid(grid_file))  # folds and traces cached before any timing
        runs = {}
        for workers in (1, 2):
            cache = Path(tmp) / f"cache{workers}"
            shutil.copytree(prepared, cache, ignore=shutil.ignore_patterns("simulate-*"))
            os.environ["RSHW_CACHE"] = str(cache)  # the workers inherit it
            stats, seconds = timed(
                lambda w=workers: sweep(grid_file, Path(tmp) / f"w{w}", workers=w)
            )
            assert stats["computed"] == stats["points"], stats
            runs[workers] = {"seconds": seconds, "points": stats["points"]}
    ratio = runs[1]["seconds"] / runs[2]["seconds"]
    print(f"{'workers':>8} {'points':>7} {'wall s':>8} {'points/s':>9}")
    for w, r in runs.items():
        print(f"{w:>8} {r['points']:>7} {r['seconds']:>8.1f} {r['points'] / r['seconds']:>9.2f}")
    print(f"speed-up with 2 workers: {ratio:.2f}x")
    record = {"grid": grid_file, "runs": runs, "speedup": ratio}
    print(f"wrote {write_result('sweep_scaling', record)}")


if __name__ == "__main__":
    main()
