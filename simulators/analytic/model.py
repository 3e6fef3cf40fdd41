"""Energy of counted operations: arithmetic plus memory traffic, per layer, step and image.

Two estimates are reported, clearly named:

- ``energy_pj`` rows of the Report: the fuller estimate, arithmetic (SOP = add, MAC, LIF update
  = mult + add + compare, pooling, residual adds) plus memory traffic (weights per synaptic event,
  accumulator read-modify-write per event, membrane read + write per neuron update, spike
  bitmaps, Real Spike parameters), with an SRAM's energy per bit set by its size (Horowitz's
  table, log-linear between its points). Weights live in an on-chip SRAM of
  ``sram_capacity_bytes`` where they fit and stream from DRAM where they do not
  (:mod:`simulators.analytic.memory` states the dataflow);
- the summary's ``paper_formula_pj``: the usual ``E_MAC × MACs + E_AC × SOPs`` of Real Spike and
  most SNN papers (exact SOPs), and the same with the two rate conventions of SOPs
  (``paper_formula_rate_border_aware_pj``, ``paper_formula_rate_dense_padded_pj``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulators.activity import Activity
from simulators.analytic.counts import COUNT_COLUMNS, count_per_sample
from simulators.analytic.memory import WeightPlacement, place_weights
from simulators.config import (
    ConfigError,
    load_preset,
    preset_path,
    require,
    sources_of,
    unit_field,
)
from simulators.ir import Graph, Node, computed_once, static_input_policy
from simulators.per_image import firing_rates
from simulators.report import Report

PRESETS = Path(__file__).parent / "presets"
MEMORY_COMPONENTS = (
    "weight_memory",
    "accumulator_memory",
    "membrane_memory",
    "parameter_memory",
    "spike_memory",
    "dram",
)


@dataclass(frozen=True)
class EnergyTable:
    name: str
    mac_pj: float = unit_field("pJ")
    add_pj: float = unit_field("pJ")
    mult_pj: float = unit_field("pJ")
    compare_pj: float = unit_field("pJ")
    weight_bits: int = unit_field("bit")
    membrane_bits: int = unit_field("bit")
    sram_kib: list[float] = unit_field("KiB")
    sram_pj_per_64bit: list[float] = unit_field("pJ")
    sram_capacity_bytes: int = unit_field("byte")
    dram_pj_per_64bit: float = unit_field("pJ")

    def __post_init__(self) -> None:
        for key in ("mac_pj", "add_pj", "mult_pj", "compare_pj"):
            value = getattr(self, key)
            require(isinstance(value, (int, float)) and value >= 0, key, "a number >= 0")
        for key in ("weight_bits", "membrane_bits"):
            value = getattr(self, key)
            require(isinstance(value, int) and 1 <= value <= 64, key, "an integer in 1..64")
        sizes, energies = self.sram_kib, self.sram_pj_per_64bit
        require(
            isinstance(sizes, list)
            and len(sizes) >= 1
            and all(isinstance(s, (int, float)) and s > 0 for s in sizes)
            and sizes == sorted(sizes),
            "sram_kib",
            "a non-empty increasing list of sizes > 0",
        )
        require(
            isinstance(energies, list)
            and len(energies) == len(sizes)
            and all(isinstance(e, (int, float)) and e > 0 for e in energies),
            "sram_pj_per_64bit",
            "a list of energies > 0, one per entry of sram_kib",
        )
        largest = int(sizes[-1] * 1024)
        capacity = self.sram_capacity_bytes
        require(
            isinstance(capacity, int) and 1 <= capacity <= largest,
            "sram_capacity_bytes",
            f"an integer in 1..{largest} (the largest SRAM of sram_kib: energies are not "
            "extrapolated beyond the table)",
        )
        dram = self.dram_pj_per_64bit
        require(isinstance(dram, (int, float)) and dram > 0, "dram_pj_per_64bit", "a number > 0")

    def sram_pj_per_bit(self, size_bytes: float) -> float:
        """Energy of one bit read or written in an SRAM holding ``size_bytes`` (arrays below
        the table's smallest size cost as the smallest; weights never exceed the capacity)."""
        kib = np.clip(size_bytes / 1024, self.sram_kib[0], self.sram_kib[-1])
        pj64 = np.interp(np.log(kib), np.log(self.sram_kib), self.sram_pj_per_64bit)
        return float(pj64 / 64)

    @property
    def dram_pj_per_bit(self) -> float:
        return self.dram_pj_per_64bit / 64


def load_energy_table(
    name_or_path: str | Path = "horowitz-45nm-fp32", overrides: dict[str, Any] | None = None
) -> tuple[EnergyTable, dict]:
    """A preset from ``simulators/analytic/presets`` (or a TOML path), with its provenance."""
    return load_preset(EnergyTable, preset_path(PRESETS, name_or_path), overrides)


def simulate(
    graph: Graph, activity: Activity, config: EnergyTable | str = "horowitz-45nm-fp32"
) -> Report:
    """The analytic Report: per layer, step and event, the count and its energy (mean over the
    traced images), and per image its energy, SOPs and firing rate."""
    provenance = sources_of(config)
    if isinstance(config, str):
        config, provenance = load_energy_table(config)
    if not isinstance(config, EnergyTable):
        raise ConfigError(f"config must be an EnergyTable or a preset name, got {type(config)}")
    counts = count_per_sample(graph, activity)
    placement = place_weights(graph, config)
    once = computed_once(graph)
    hardware = f"analytic:{config.name}"
    rows = []
    image_pj = np.zeros(activity.samples)
    for layer, c in counts.items():
        node = graph[layer]
        steps_run = np.ones(activity.timesteps)
        if layer in once:
            steps_run[1:] = 0
        for component, event, n, pj in _events(node, c, config, placement, steps_run):
            per_image = np.broadcast_to(n, (activity.samples, activity.timesteps))
            image_pj += per_image.sum(1) * pj
            for t, mean in enumerate(per_image.mean(0)):
                if mean:
                    rows.append(
                        {
                            "hardware": hardware,
                            "layer": layer,
                            "op": node.op,
                            "step": t,
                            "component": component,
                            "event": event,
                            "events": float(mean),
                            "cycles": 0.0,
                            "energy_pj": float(mean * pj),
                            "area_um2": 0.0,
                        }
                    )
    totals = {k: sum(float(c[k].sum(1).mean()) for c in counts.values()) for k in COUNT_COLUMNS}
    lif = [c for name, c in counts.items() if graph[name].op == "lif"]
    updates = sum(float(c["neuron_updates"].sum()) for c in lif)
    spikes = sum(float(c["spikes_out"].sum()) for c in lif)
    energy = sum(row["energy_pj"] for row in rows)

    def component_pj(*names: str) -> float:
        return sum(row["energy_pj"] for row in rows if row["component"] in names)

    def paper_pj(sops: float) -> float:
        return float(config.mac_pj * totals["macs"] + config.add_pj * sops)

    summary = {
        "sops": totals["sops"],
        "sops_rate_border_aware": totals["sops_rate_border_aware"],
        "sops_rate_dense_padded": totals["sops_rate_dense_padded"],
        "macs": totals["macs"],
        "neuron_updates": totals["neuron_updates"],
        "spikes": totals["spikes_out"],
        "firing_rate": spikes / updates if updates else 0.0,
        "energy_pj": energy,
        "energy_arithmetic_pj": component_pj("arithmetic"),
        "energy_memory_pj": component_pj(*MEMORY_COMPONENTS),
        "energy_dram_pj": component_pj("dram"),
        "weight_bytes_on_chip": placement.on_chip_bytes,
        "weight_bytes_streamed": placement.streamed_bytes,
        "paper_formula_pj": paper_pj(totals["sops"]),
        "paper_formula_rate_border_aware_pj": paper_pj(totals["sops_rate_border_aware"]),
        "paper_formula_rate_dense_padded_pj": paper_pj(totals["sops_rate_dense_padded"]),
        "samples": activity.samples,
        "timesteps": activity.timesteps,
        "static_input": static_input_policy(graph),
    }
    sops_per_image = sum(c["sops"].sum(1) for c in counts.values())
    per_image = pd.DataFrame(
        {
            "image": np.arange(activity.samples),
            "energy_pj": image_pj,
            "sops": np.zeros(activity.samples) + sops_per_image,
            "firing_rate": firing_rates(graph, activity),
        }
    )
    return Report.from_rows(
        rows,
        config={"model": "analytic", "energy_table": config.__dict__, "sources": provenance},
        summary=summary,
        per_image=per_image,
        notes=[
            "events and energies are per inference (mean over the traced samples, all steps)",
            "paper_formula_pj = mac_pj × MACs + add_pj × SOPs, with exact event-driven SOPs",
            f"weights: {placement.on_chip_bytes:.4g} B in on-chip SRAM, "
            f"{placement.streamed_bytes:.4g} B streamed from DRAM once per time step",
            f"static input: {static_input_policy(graph)} (layers computed once count at step 0)",
        ],
    )


def _events(
    node: Node,
    c: dict[str, np.ndarray],
    config: EnergyTable,
    placement: WeightPlacement,
    steps_run: np.ndarray,
) -> list[tuple[str, str, np.ndarray, float]]:
    """``(component, event, count [samples, T] or [T], energy per event in pJ)`` of a node."""
    wb, mb = config.weight_bits, config.membrane_bits
    out_neurons = int(np.prod(node.shape))
    state_pj = mb * config.sram_pj_per_bit(out_neurons * mb / 8)
    events = [
        ("arithmetic", "sop", c["sops"], config.add_pj),
        ("arithmetic", "mac", c["macs"], config.mac_pj),
        ("arithmetic", "add", c["additions"], config.add_pj),
        ("arithmetic", "mult", c["multiplications"], config.mult_pj),
        ("arithmetic", "compare", c["comparisons"], config.compare_pj),
        (
            "weight_memory",
            "weight_read",
            c["weight_reads"],
            wb * config.sram_pj_per_bit(placement.read_array_bytes(node)),
        ),
        ("accumulator_memory", "accumulator_rw", c["accumulator_rw"], state_pj),
        ("membrane_memory", "membrane_rw", c["membrane_rw"], state_pj),
        ("parameter_memory", "parameter_read", c["parameter_reads"], state_pj),
        (
            "spike_memory",
            "spike_bit_read",
            c["spike_bits_read"],
            config.sram_pj_per_bit(c["input_neurons"].max(initial=0) / 8),
        ),
        (
            "spike_memory",
            "spike_bit_write",
            c["spike_bits_written"],
            config.sram_pj_per_bit(out_neurons / 8),
        ),
    ]
    if node.name in placement.streamed:
        bits = steps_run * node.weight_count * wb
        capacity_pj = config.sram_pj_per_bit(config.sram_capacity_bytes)
        events += [
            ("dram", "weight_dram_read_bit", bits, config.dram_pj_per_bit),
            ("weight_memory", "weight_stage_write_bit", bits, capacity_pj),
        ]
    return events
