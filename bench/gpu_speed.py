"""Simulate ResNet19 (T=4) on the GPU model: dense, event-driven and unshared execution.

    python -m bench.gpu_speed [--dataset cifar10-sample] [--samples 4] [--batch 1 64]

Builds the channel-wise (shared kernels) and element-wise (unshared, ``local`` layers) Real
Spike ResNet19 with rshw (untrained, BN calibrated), traces their spikes, and simulates each
execution on the ``h200`` and ``orin`` presets, implemented two ways: ``eager`` (plain PyTorch:
LIF loop, NCHW, unfold+bmm, a host call per op) and ``tuned`` (fused LIF, channels_last, one
implicit kernel per unshared layer, CUDA-graph replay). Prints the comparison (latency, energy, DRAM
traffic per inference) as a Markdown table and the simulator's own speed, and writes
bench/results/gpu_speed.json. The speed baseline, measured in the same run from the same graph
and activity, is lowering the graph plus the closed-form roofline of its kernels
(:mod:`simulators.gpu.roofline`): the ratio says what the SimPy host/stream/SM model and the
Report cost over a formula.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile

from bench.common import peak_rss_mb, timed, write_result
from rshw.data import load_dataset
from rshw.models import create_model
from rshw.pipeline.reparam import reparameterize
from rshw.pipeline.trace import trace
from rshw.training.calibrate import calibrate_batchnorm
from simulators.gpu import load_config, simulate
from simulators.gpu.lowering import Settings, lower
from simulators.gpu.roofline import roofline_cycles

EXECUTIONS = {  # label: (Real Spike granularity, execution)
    "dense, shared kernels": ("channel", "dense"),
    "event-driven, shared kernels": ("channel", "event"),
    "dense, unshared kernels": ("element", "dense"),
    "event-driven, unshared kernels": ("element", "event"),
}
IMPLEMENTATIONS = ("eager", "tuned")
PRESETS = ("h200", "orin")


def build(realspike: str, dataset: str, samples: int, folder: str):
    model = create_model("resnet19", realspike=realspike)
    calibrate_batchnorm(model, load_dataset(dataset, None, "train"), 64)
    graph = reparameterize(model)
    activity, _ = trace(graph, load_dataset(dataset, None, "test"), samples, folder, progress=False)
    return graph, activity


def run_one(graph, activity, config, batch: int, execution: str, implementation: str):
    """Simulate one configuration; time it and the closed-form roofline of the same kernels."""
    report, simulate_s = timed(
        lambda: simulate(
            graph, activity, config, batch=batch, execution=execution, implementation=implementation
        )
    )
    settings = Settings(batch, activity.timesteps, "bf16", execution, implementation)
    _, roofline_s = timed(
        lambda: roofline_cycles(lower(graph, activity, config.spec, settings), config)
    )
    s = report.summary
    result = {
        "latency_ms": s["latency_s"] * 1e3,
        "throughput_img_s": s["throughput_img_s"],
        "energy_mj": s["energy_pj"] / 1e9,
        "dynamic_mj": s["energy_dynamic_pj"] / 1e9,
        "board_mj": s["board_energy_pj"] / 1e9,
        "dram_mb": s["dram_bytes"] / 1e6,
        "weights_mb": s["weight_bytes"] / 1e6,
        "gpu_busy": s["gpu_busy_fraction"],
        "kernels": s["kernels"],
    }
    speed = {
        "simulate_s": simulate_s,
        "roofline_s": roofline_s,
        "simulate_over_roofline": simulate_s / roofline_s,
    }
    return result, speed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="cifar10-sample", help="cifar10-sample or cifar10")
    p.add_argument("--samples", type=int, default=4, help="traced images per graph")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    p.add_argument(
        "--implementation", nargs="+", default=list(IMPLEMENTATIONS), choices=IMPLEMENTATIONS
    )
    args = p.parse_args()

    rows, speed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        networks = {
            rs: build(rs, args.dataset, args.samples, f"{tmp}/{rs}")
            for rs in ("channel", "element")
        }
        for preset, implementation, batch, (label, (realspike, execution)) in itertools.product(
            PRESETS, args.implementation, args.batch, EXECUTIONS.items()
        ):
            key = {
                "gpu": preset,
                "implementation": implementation,
                "batch": batch,
                "execution": label,
            }
            graph, activity = networks[realspike]
            result, timing = run_one(
                graph, activity, load_config(preset), batch, execution, implementation
            )
            rows.append({**key, **result})
            speed.append({**key, **timing})
    print(
        "| GPU | implementation | batch | execution | latency (ms) | img/s | energy/img (mJ) "
        "| of it dynamic | board x time (mJ) | DRAM/img (MB) | GPU busy | kernels |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['gpu']} | {r['implementation']} | {r['batch']} | {r['execution']} "
            f"| {r['latency_ms']:.3f} "
            f"| {r['throughput_img_s']:.0f} | {r['energy_mj']:.3f} | {r['dynamic_mj']:.3f} "
            f"| {r['board_mj']:.3f} | {r['dram_mb']:.1f} | {r['gpu_busy']:.2f} | {r['kernels']} |"
        )
    print()
    for s in speed:
        print(
            f"{s['gpu']:5s} {s['implementation']:5s} batch {s['batch']:3d} {s['execution']:30s} "
            f"simulate {s['simulate_s']:.3f} s  roofline {s['roofline_s']:.3f} s  "
            f"ratio {s['simulate_over_roofline']:.1f}"
        )
    worst = max(s["simulate_s"] for s in speed)
    result = {
        "model": "resnet19",
        "dataset": args.dataset,
        "samples": args.samples,
        "max_simulate_s": worst,
        "comparison": rows,
        "speed": speed,
        "peak_rss_mb": peak_rss_mb(),
    }
    print(f"slowest simulation {worst:.3f} s; wrote {write_result('gpu_speed', result)}")


if __name__ == "__main__":
    main()
