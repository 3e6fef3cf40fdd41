"""NeuroSim's VGG8 with binary inputs, through our model, beside NeuroSim V1.4's own estimate.

The reference (:data:`NEUROSIM`) is what DNN+NeuroSim V1.4's C++ (commit ac828e67) reports for
its ``NetWork_VGG8.csv`` with every layer fed one binary input plane (``numBitInput = 1``), 22 nm
RRAM, as recorded in ``shared/calibration/neurosim_vgg8/README.md``: independent of this code.

:func:`graph` builds the network as an IR graph in which every weighted layer reads spikes
(an input LIF makes the image binary too); :func:`activity` draws i.i.d. Bernoulli spikes with
one density per layer input. :data:`NEUROSIM_CHIP` sets ``neurosim-rram-22nm`` to NeuroSim's
configuration of that run. :func:`compare` prices it and lines our components up with
NeuroSim's.

Two conventions of NeuroSim's that we follow when comparing, both named:

- **windows** (:data:`NEUROSIM_WINDOWS`): NeuroSim simulates (H−K+1)² windows of a 'same' 3×3
  layer (``Chip.cpp`` ``numInVector``): 900 of 1,024 in layers 1–2, 196 of 256, 36 of 64. Our
  graph computes every window; the comparison scales each layer's dynamic energy by
  NeuroSim's window count over ours.
- **copies** (:data:`NEUROSIM_COPIES`): with ``speedUpDegree = 8`` NeuroSim stores layers 1–8
  16/16/4/4/2/1/1/8 times, and its area counts the copies; our area here counts each layer's
  tiles at that duplication (``duplication`` of a conv, capped at its output width).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulators.activity import Activity, ActivityWriter
from simulators.cim.config import CimConfig, load_config
from simulators.cim.energy import area_rows
from simulators.cim.mapping import map_graph, mapping_table
from simulators.cim.model import simulate
from simulators.ir import Graph

# NetWork_VGG8.csv: (input size, Cin, kernel, Cout, max-pool after)
LAYERS = (
    (32, 3, 3, 128, False),
    (32, 128, 3, 128, True),
    (16, 128, 3, 256, False),
    (16, 256, 3, 256, True),
    (8, 256, 3, 512, False),
    (8, 512, 3, 512, True),
    (1, 8192, 1, 1024, False),
    (1, 1024, 1, 10, False),
)
NAMES = tuple(f"layer{i}" for i in range(1, 9))
# Chip.cpp numInVector = (H - K + 1)^2 for a 3x3 layer, 1 for the classifier layers
NEUROSIM_WINDOWS = dict(zip(NAMES, (900, 900, 196, 196, 36, 36, 1, 1), strict=True))
# Param.cpp speedUpDegree = 8: weight copies per layer (README, "Hardware parameters")
NEUROSIM_COPIES = dict(zip(NAMES, (16, 16, 4, 4, 2, 1, 1, 8), strict=True))
# README "nonzero mask": density of each layer's binary input
MASK_DENSITIES = (0.95, 0.48, 0.60, 0.44, 0.53, 0.42, 0.65, 0.47)

# NeuroSim's area breakdown (CIM array 3.605, IC 24.166, ADC 7.949, accumulation 6.952, other
# peripheries 44.402 mm²) from our run of the same commit and configuration, whose p = 0.10
# energy (5.2314 µJ) reproduces the README's to 0.03 %; ChipArea (291.07 mm²) is the
# floorplan's, with the space its rectangular tiles leave unused
SUMMED_AREA_MM2 = 3.605 + 24.166 + 7.949 + 6.952 + 44.402
# NeuroSim V1.4's estimate (README section 4): per image, one time step, energies in µJ
NEUROSIM = {
    "p10": {
        "dynamic_uj": 5.233,
        "adc_uj": 2.066,
        "accumulation_uj": 0.428,
        "other_uj": 2.738,
        "interconnect_uj": 2.168,
        "buffer_uj": 0.069,
        "leakage_uj": 0.193,
        "area_mm2": 291.07,
        "summed_area_mm2": SUMMED_AREA_MM2,
    },
    "mask": {
        "dynamic_uj": 6.527,
        "adc_uj": 2.877,
        "accumulation_uj": 0.428,
        "other_uj": 3.222,
        "interconnect_uj": 2.168,
        "buffer_uj": 0.069,
        "leakage_uj": 0.193,
        "area_mm2": 291.07,
        "summed_area_mm2": SUMMED_AREA_MM2,
    },
}

# neurosim-rram-22nm set to NeuroSim's run (README "Hardware parameters")
NEUROSIM_CHIP = {
    "bits_per_cell": 1,  # cellBit = 1: 8 columns per 8-bit weight
    "weight_bits": 8,  # synapseBit = 8
    "signed_weights": "offset",  # offset-binary weights, sign via reference columns
    "adc_bits": 5,  # levelOutput = 32
    "columns_per_adc": 8,  # numColMuxed = 8
    "crossbar_rows": 128,
    "crossbar_columns": 128,  # 128 x 128 subarrays, numRowParallel = 128
    "crossbars_per_pe": 16,  # PE 512 x 512 = 4 x 4 subarrays
    "pes_per_tile": 4,  # tile 1024 x 1024 = 2 x 2 PEs
    "pe_accumulation": "digital",
    "mapping": "im2col",
    "placement": "tile-aligned",
    "mode": "event",
    # per-tile and per-PE constants of the preset, restated for this PE (16 subarrays, 2,048
    # rows) and tile (64 subarrays): the same sources, other sizes (see the preset's keys)
    "leakage_mw_per_tile": 0.00959,  # NeuroSim's 1024×1024 tile leaks 9.59 µW
    "wakeup_pj_per_tile": 0.00959 * 10,  # its leakage over a 10-cycle break-even time
    "input_fetch_pj": 2048 / 3 * 0.0705,  # 2,048 rows / K reuse × 0.0705 pJ per bit
    "tile_buffer_pj": 16 * 16 * 0.0705,  # 16 outputs (8 columns each) × 16 bits × 0.0705 pJ
}

# our report components → NeuroSim's breakdown. NeuroSim files the array's word-line and
# bit-line energy under "ADC" (SubArray.cpp: readDynamicEnergyADC includes readDynamicEnergyArray)
# and its WL switch matrix, decoders and muxes under "other"; we price the array per active row
# and the muxes per conversion, so the array, converters and read periphery are compared
# together ("array_adc_periphery": NeuroSim's ADC + other − IC − buffers).
COMPONENTS = {
    "array_adc_periphery_uj": ("crossbar", "adc", "mux", "neuron", "digital"),
    "accumulation_uj": ("adder", "subtractor", "temp_buffer"),
    "interconnect_uj": ("htree", "noc", "chip_link"),
    "buffer_uj": ("input_buffer", "tile_buffer"),
}


def graph(seed: int = 0) -> Graph:
    """VGG8 of ``NetWork_VGG8.csv`` ('same' 3×3 convs, 2×2 max-pools), every weighted layer
    fed spikes; weights uniform in [-1, 1] (NeuroSim's algoWeightMin/Max)."""
    rng = np.random.default_rng(seed)
    g = Graph({"timesteps": 1, "model": {"name": "neurosim-vgg8"}, "static_input": "every_step"})
    g.add("input", "input", shape=(3, 32, 32), attrs={"encoding": "static"})
    previous = g.add("spikes0", "lif", ["input"], attrs={"tau": 1.0, "v_th": 0.5}).name
    for i, (_, cin, k, cout, pool) in enumerate(LAYERS, start=1):
        name = f"layer{i}"
        if k == 1:
            if g[previous].shape != (cin,):
                previous = g.add(f"flat{i}", "flatten", [previous]).name
            g.add(name, "linear", [previous], weight=rng.uniform(-1, 1, (cout, cin)))
        else:
            weight = rng.uniform(-1, 1, (cout, cin, k, k))
            g.add(name, "conv", [previous], attrs={"padding": 1}, weight=weight)
        previous = g.add(f"spikes{i}", "lif", [name], attrs={"tau": 1.0, "v_th": 0.5}).name
        if pool:
            previous = g.add(f"pool{i}", "maxpool", [previous], attrs={"kernel": 2}).name
    g.add("output", "output", [previous], attrs={"reduce": "mean"})
    return g.validate()


def activity(g: Graph, path: str | Path, densities: tuple[float, ...], seed: int = 0) -> Activity:
    """One image of i.i.d. Bernoulli spikes, ``densities[i]`` on layer i+1's input edge."""
    rng = np.random.default_rng(seed)
    inputs = {g[name].inputs[0]: d for name, d in zip(NAMES, densities, strict=True)}
    edges = {e: g[e].shape for e in g.spike_edges()}
    maps = {}
    for e, shape in edges.items():
        fed = [i for i, d in inputs.items() if e in (i, *g[i].inputs)]
        density = inputs[fed[0]] if fed else 0.5
        maps[e] = rng.random((1, 1, *shape)) < density
    with ActivityWriter(path, edges, 1, {"graph_fingerprint": g.fingerprint()}) as writer:
        writer.append(maps)
    return Activity.load(path)


def chip(overrides: dict[str, Any] | None = None) -> CimConfig:
    return load_config("neurosim-rram-22nm", {**NEUROSIM_CHIP, **(overrides or {})})


def area_with_copies_mm2(g: Graph, config: CimConfig) -> float:
    """Area with each layer's tiles at NeuroSim's number of weight copies (tiles are affine in
    area: per-tile units + the global buffer + per-layer input and membrane storage)."""
    base = map_graph(g, dataclasses.replace(config, duplication=1))
    rows = pd.DataFrame(area_rows("cim", g, base))
    chip_rows = rows[(rows.layer == "chip") & (rows.component != "global_buffer")]
    per_tile = chip_rows.area_um2.sum() / base.tiles
    tiles = 0
    for d in sorted(set(NEUROSIM_COPIES.values())):
        table = mapping_table(map_graph(g, dataclasses.replace(config, duplication=d)))
        for _, row in table.iterrows():
            if NEUROSIM_COPIES.get(row["layer"]) == d:
                tiles += int(row["tiles"])
    return (rows.area_um2.sum() - chip_rows.area_um2.sum() + per_tile * tiles) * 1e-6


def run(densities: tuple[float, ...], path: str | Path, config: CimConfig | None = None):
    """Our report for one image at the given per-layer input densities."""
    config = config or chip()
    g = graph()
    return g, simulate(g, activity(g, path, densities), config)


def compare(path: str | Path, config: CimConfig | None = None) -> pd.DataFrame:
    """Ours against NeuroSim's, per component, at p = 0.10 and at the nonzero-mask densities."""
    config = config or chip()
    rows = []
    for case, densities in (("p10", (0.10,) * 8), ("mask", MASK_DENSITIES)):
        g, report = run(densities, Path(path) / case, config)
        frame = report.frame[report.frame.event != "area"]
        dynamic = frame[frame.component != "leakage"]
        ours_windows = {n: int(np.prod(g[n].shape[1:])) if g[n].op == "conv" else 1 for n in NAMES}
        scale = {n: NEUROSIM_WINDOWS[n] / ours_windows[n] for n in NAMES}
        weight = dynamic.layer.map(scale).fillna(1.0)
        ours = {
            key: float((dynamic.energy_pj * weight)[dynamic.component.isin(parts)].sum()) * 1e-6
            for key, parts in COMPONENTS.items()
        }
        ours["dynamic_uj"] = sum(ours[k] for k in COMPONENTS)
        ours["dynamic_all_windows_uj"] = float(dynamic.energy_pj.sum()) * 1e-6
        ours["leakage_uj"] = report.summary["leakage_energy_pj"] * 1e-6
        ours["area_mm2"] = ours["summed_area_mm2"] = area_with_copies_mm2(g, config)
        ref = dict(NEUROSIM[case])
        ref["array_adc_periphery_uj"] = (
            ref["adc_uj"] + ref["other_uj"] - ref["interconnect_uj"] - ref["buffer_uj"]
        )
        for key, value in ours.items():
            theirs = ref.get(key)
            rows.append(
                {
                    "case": case,
                    "metric": key,
                    "ours": value,
                    "neurosim": theirs,
                    "ratio": value / theirs if theirs else float("nan"),
                }
            )
    return pd.DataFrame(rows)


# what each new effect changes: the chip above with one key changed
EFFECTS = {
    "as NeuroSim (every crossbar read, active rows priced, no gating)": {},
    "active rows not priced": {"crossbar_row_read_pj": 0.0, "adc_row_pj": 0.0},
    "all-zero inputs skipped": {"zero_input_reads": "skip"},
    "idle tiles gated": {"power_gating": "idle-tiles"},
}


def effects(path: str | Path) -> pd.DataFrame:
    """Energy (all windows) and latency of VGG8 at both densities under each effect."""
    rows = []
    for label, change in EFFECTS.items():
        config = chip(change)
        for case, densities in (("p10", (0.10,) * 8), ("mask", MASK_DENSITIES)):
            _, report = run(densities, Path(path) / f"{len(rows)}", config)
            s = report.summary
            rows.append(
                {
                    "effect": label,
                    "case": case,
                    "dynamic_uj": s["dynamic_energy_pj"] * 1e-6,
                    "static_uj": s["leakage_energy_pj"] * 1e-6,
                    "latency_us": s["latency_s"] * 1e6,
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    import tempfile

    pd.set_option("display.width", 140)
    with tempfile.TemporaryDirectory() as tmp:
        for table in (compare(tmp), effects(tmp)):
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
