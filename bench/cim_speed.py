"""Speed of the CIM simulator on ResNet19 (one traced CIFAR-10 image), shared and unshared kernels.

    python -m bench.cim_speed [--channel GRAPH ACT] [--element GRAPH ACT] [--duplication 1 32]

Without paths, the graphs are built here (untrained ResNet19, BatchNorm calibrated on 256 training
images, re-parameterized channel-wise and element-wise) and one test image is traced. For every
graph × preset it times ``simulators.cim.simulate`` (event mode) and reports SimPy events, events
per second and the peak memory the simulation allocates (tracemalloc). The baseline, measured in
the same run on the same graph, is the closed-form model alone (``simulators.cim.estimate``:
mapping, dense and rate-based energy and latency, no spike maps, no SimPy); the ratio says what
the cycle-level run costs on top of it. It also prints the shared-versus-unshared table quoted in
docs/cim.md and the SpikeSim VGG9 reproduction, and writes bench/results/cim_speed.json.
"""

from __future__ import annotations

import argparse
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np

from bench.common import peak_rss_mb, timed, write_result
from simulators.activity import Activity
from simulators.cim import estimate, load_config, map_graph, simulate, vgg9
from simulators.ir import Graph

PRESETS = ("spikesim-rram-65nm", "neurosim-rram-22nm")


def build(realspike: str, dataset: str, folder: Path) -> tuple[Graph, Activity]:
    """ResNet19, BatchNorm calibrated on 256 training images, traced on one test image."""
    import torch

    from rshw.data import load_dataset
    from rshw.models import create_model
    from rshw.pipeline.reparam import reparameterize
    from rshw.pipeline.trace import trace
    from rshw.training.calibrate import calibrate_batchnorm

    torch.manual_seed(0)
    model = create_model("resnet19", realspike=realspike)
    calibrate_batchnorm(model, load_dataset(dataset, split="train"), 256)
    graph = reparameterize(model, np.float32)
    activity, _ = trace(graph, load_dataset(dataset, split="test"), 1, folder / realspike)
    return graph, activity


def measure(graph: Graph, activity: Activity, preset: str, duplication: int) -> dict:
    """One graph on one preset, spread over as many chips as it needs."""
    overrides = {"duplication": duplication}
    chips = map_graph(graph, load_config(preset, {**overrides, "chips": 10**6})).chips
    config = load_config(preset, {**overrides, "chips": chips})
    report, wall_s = timed(lambda: simulate(graph, activity, config))
    _, closed_form_s = timed(lambda: estimate(graph, activity, config))
    tracemalloc.start()
    simulate(graph, activity, config)
    peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    s = report.summary
    return {
        "preset": preset,
        "duplication": duplication,
        "wall_s": wall_s,
        "simpy_s": s["sim_wall_s"],
        "simpy_events": s["simpy_events"],
        "simpy_events_per_s": s["simpy_events_per_s"],
        "sim_peak_mb": peak_mb,
        "closed_form_s": closed_form_s,
        "simulate_over_closed_form": wall_s / closed_form_s,
        "crossbars": s["crossbars"],
        "tiles": s["tiles"],
        "chips": s["chips"],
        "area_mm2": s["area_mm2"],
        "latency_us": s["latency_s"] * 1e6,
        "closed_form_latency_us": s["closed_form_latency_cycles"] / config.clock_mhz,
        "throughput_per_s": s["throughput_inferences_per_s"],
        "energy_uj": s["energy_uj"],
        "dynamic_energy_uj": s["dynamic_energy_pj"] * 1e-6,
        "leakage_energy_uj": s["leakage_energy_pj"] * 1e-6,
        "dense_energy_uj": s["dense_energy_pj"] * 1e-6,
        "edp_nj_s": s["edp_js"] * 1e9,
    }


def spikesim_vgg9(folder: Path) -> dict:
    graph = vgg9.graph()
    spikesim = load_config("spikesim-rram-65nm", vgg9.SPIKESIM_INPUT)
    report = simulate(graph, vgg9.activity(graph, folder / "vgg9"), spikesim, mode="dense")
    s = report.summary
    membranes = report.frame[report.frame.component == "membrane"]
    left_out = membranes[membranes.layer.isin(["lif6", "lif7"])].area_um2.sum()
    return {
        "pes": s["pes"],
        "tiles": s["tiles"],
        "pj_per_pe_cycle": s["dynamic_energy_pj"] / s["pe_cycles"],
        "energy_uj": s["energy_uj"],
        "area_mm2": s["area_mm2"],
        "area_mm2_spikesim_membranes": s["area_mm2"] - left_out * 1e-6,
        "latency_ms": s["latency_s"] * 1e3,
        "spikesim_formula_latency_ms": vgg9.spikesim_latency_ms(load_config("spikesim-rram-65nm")),
        "spikesim": vgg9.SPIKESIM,
    }


def _cell(value) -> str:
    return f"{value:>12.4g}" if isinstance(value, float) else f"{value!s:>12.12s}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--channel", nargs=2, metavar=("GRAPH", "ACTIVITY"))
    p.add_argument("--element", nargs=2, metavar=("GRAPH", "ACTIVITY"))
    p.add_argument("--dataset", default="cifar10", help="cifar10 (searched) or cifar10-sample")
    p.add_argument(
        "--duplication", type=int, nargs="+", default=[1, 32], help="copies of shared conv weights"
    )
    args = p.parse_args()

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for realspike, given in (("channel", args.channel), ("element", args.element)):
            if given:
                graph, activity = Graph.load(given[0]), Activity.load(given[1])
            else:
                graph, activity = build(realspike, args.dataset, Path(tmp))
            kernels = "shared" if realspike == "channel" else "unshared"
            for preset in PRESETS:
                for d in args.duplication:
                    row = {"kernels": kernels, "realspike": realspike}
                    runs.append({**row, **measure(graph, activity, preset, d)})
        reference = spikesim_vgg9(Path(tmp))

    columns = (
        *("kernels", "preset", "duplication", "wall_s", "simpy_events_per_s", "sim_peak_mb"),
        *("simulate_over_closed_form", "crossbars", "tiles", "chips", "area_mm2", "latency_us"),
        *("throughput_per_s", "energy_uj", "leakage_energy_uj", "edp_nj_s"),
    )
    print("  ".join(f"{c:>12.12s}" for c in columns))
    for run in runs:
        print("  ".join(_cell(run[c]) for c in columns))
    print("SpikeSim VGG9 (ours vs SpikeSim's script):")
    for key, value in reference.items():
        print(f"  {key:30s} {value}")
    result = {"runs": runs, "spikesim_vgg9": reference, "peak_rss_mb": peak_rss_mb()}
    print(f"peak RSS of this process {result['peak_rss_mb']:.0f} MiB")
    print(f"wrote {write_result('cim_speed', result)}")


if __name__ == "__main__":
    main()
