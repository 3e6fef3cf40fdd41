"""Wall time of `rshw simulate` (what `make simulate MODEL=resnet19` runs), cold and cached.

    python -m bench.simulate_time [--model resnet19] [--images 8] [-T 4]

Runs the command twice in subprocesses on an empty, private cache: cold (fold, trace, verify,
every hardware model: analytic, CIM, GPU at batch 1 and 64) and again (everything cached), and
prints the stages from the run's manifest. The baseline, measured in the same run, is the torch
model's own forward pass on the same images (float32, same threads): the ratio says what the
whole pipeline costs beside plain inference. Writes bench/results/simulate_time.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.common import timed, write_result


def run_simulate(args, cache: Path, out: Path) -> tuple[float, dict]:
    """Wall seconds of one `python -m rshw simulate` and its manifest."""
    env = {**os.environ, "RSHW_CACHE": str(cache)}
    command = [sys.executable, "-m", "rshw", "simulate", "--model", args.model]
    command += ["--images", str(args.images), "-T", str(args.timesteps), "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return seconds, json.loads((out / "manifest.json").read_text())


def torch_baseline(args) -> float:
    """Seconds of the (untrained) torch model's forward pass on the same number of images."""
    from rshw.data import load_dataset
    from rshw.models import create_model
    from rshw.pipeline.plan import resolve_data
    from rshw.pipeline.stages import Images

    test = load_dataset("cifar10-sample", None, "test", timesteps=args.timesteps)
    model = create_model(
        args.model, realspike="channel", timesteps=args.timesteps, in_channels=3, input_size=32
    ).eval()
    drawn = resolve_data("cifar10-sample", None, args.timesteps, args.images, 0, loaded=test)
    x = Images(drawn, test).inputs()
    with torch.no_grad():
        model(x[:1])  # warm-up
        _, seconds = timed(lambda: model(x))
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="resnet19")
    p.add_argument("--images", type=int, default=8)
    p.add_argument("-T", "--timesteps", type=int, default=4)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cold_s, manifest = run_simulate(args, Path(tmp) / "cache", Path(tmp) / "cold")
        warm_s, _ = run_simulate(args, Path(tmp) / "cache", Path(tmp) / "warm")
    baseline_s = torch_baseline(args)
    stages = {k: round(v, 2) for k, v in manifest["timings_s"].items()}
    rows = [("cold run (wall, incl. interpreter start)", cold_s), ("cached rerun (wall)", warm_s)]
    rows += [(f"  stage {k}", v) for k, v in stages.items()]
    rows += [("baseline: torch forward, same images", baseline_s)]
    print(f"{'what':45s} {'seconds':>9s}")
    for name, seconds in rows:
        print(f"{name:45s} {seconds:9.2f}")
    threads = torch.get_num_threads()
    print(f"cold run / torch forward: {cold_s / baseline_s:.0f}x; torch threads {threads}")
    path = write_result(
        "simulate_time",
        {
            "model": args.model,
            "images": args.images,
            "timesteps": args.timesteps,
            "threads": threads,
            "cold_s": cold_s,
            "cached_s": warm_s,
            "stages_s": stages,
            "baseline_torch_forward_s": baseline_s,
            "runs": list(manifest["reports"]),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
