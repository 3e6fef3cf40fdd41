"""SpikeSim's VGG9 example (its released cost script) as an IR graph with synthetic activity.

SpikeSim's ``ela_spikesim.py`` prices seven 3×3 conv layers at T = 5; downsampling shows only in
the layer sizes, here a stride-2 convolution. Its script prints 48 PEs, 6 tiles, 828.5 pJ per
PE-cycle, 15.91 µJ, 8.43 mm² and 62.8 ms (:data:`SPIKESIM`, the reference we compare against).
SpikeSim charges layer 1 (the real-valued image) like a spiking layer, at every step: the graph
records ``static_input = "every_step"`` and a reproduction sets ``real_input_bits = 1`` and
``compatibility = "spikesim"`` (:data:`SPIKESIM_INPUT`: no NoC flit or link energy, one packet
per row, no partial-sum reduction traffic, as SpikeSim charges none of them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulators.activity import Activity, ActivityWriter
from simulators.cim.config import CimConfig
from simulators.ir import Graph

# (in channels, out channels, input size, output size), kernel 3×3 (ela_spikesim.py)
LAYERS = (
    (3, 64, 32, 32),
    (64, 64, 32, 16),
    (64, 128, 16, 16),
    (128, 128, 16, 8),
    (128, 256, 8, 8),
    (256, 256, 8, 8),
    (256, 256, 8, 4),
)
TIMESTEPS = 5
# ela: one 1-bit pass for the image, like a spike map; only the charges SpikeSim's script makes
SPIKESIM_INPUT = {"real_input_bits": 1, "compatibility": "spikesim"}
SPIKESIM = {
    "pes": 48,
    "tiles": 6,
    "pj_per_pe_cycle": 828.5,
    "energy_uj": 15.91,
    "area_mm2": 8.43,
    "latency_ms": 62.8,
}


def graph(seed: int = 0) -> Graph:
    """Conv (stride = input size / output size, padding 1) and LIF, layer after layer."""
    rng = np.random.default_rng(seed)
    g = Graph(
        {"timesteps": TIMESTEPS, "model": {"name": "spikesim-vgg9"}, "static_input": "every_step"}
    )
    g.add("input", "input", shape=(3, 32, 32), attrs={"encoding": "static"})
    previous = "input"
    for i, (cin, cout, size_in, size_out) in enumerate(LAYERS, start=1):
        g.add(
            f"conv{i}",
            "conv",
            [previous],
            attrs={"stride": size_in // size_out, "padding": 1, "binary_input": i > 1},
            weight=rng.normal(size=(cout, cin, 3, 3)).astype(np.float32),
        )
        previous = g.add(f"lif{i}", "lif", [f"conv{i}"], attrs={"tau": 0.25, "v_th": 0.5}).name
    g.add("output", "output", [previous], attrs={"reduce": "mean"})
    return g.validate()


def activity(g: Graph, path: str | Path, density: float = 1.0, seed: int = 0) -> Activity:
    """One sample of random spike maps (every neuron spikes at every step when density is 1)."""
    rng = np.random.default_rng(seed)
    edges = {e: g[e].shape for e in g.spike_edges()}
    meta = {"graph_fingerprint": g.fingerprint()}
    with ActivityWriter(path, edges, TIMESTEPS, meta) as writer:
        writer.append({e: rng.random((1, TIMESTEPS, *s)) < density for e, s in edges.items()})
    return Activity.load(path)


def spikesim_latency_ms(config: CimConfig) -> float:
    """SpikeSim's own latency formula (ela ``latency_gen``), for comparison: one PE-cycle per
    output *neuron* and step, each layer starting when 75% of the previous one is done."""
    pe_cycle_ns = (
        config.columns_per_adc * (config.crossbar_read_cycles + config.adc_conversion_cycles)
        + config.pe_overhead_cycles
    ) * config.clock_ns
    neurons = [cout * size * size for _, cout, _, size in LAYERS]
    cycles = sum(int(0.75 * n) * TIMESTEPS for n in neurons[:-1]) + neurons[-1] * TIMESTEPS
    return cycles * pe_cycle_ns * 1e-6
