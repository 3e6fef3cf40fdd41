"""Energy of counted operations: arithmetic plus on-chip memory traffic, per layer and step.

Two estimates are reported, clearly named:

- ``energy_pj`` rows of the Report: the fuller estimate, arithmetic (SOP = add, MAC, LIF update
  = mult + add + compare, pooling, residual adds) plus SRAM traffic (weights per synaptic event,
  accumulator read-modify-write per event, membrane read + write per neuron update, spike
  bitmaps, Real Spike parameters), with an SRAM's energy per bit set by its size (Horowitz's
  table, log-linear between its points; arrays above the largest entry are charged as banks of
  that size);
- the summary's ``paper_formula_pj``: the usual ``E_MAC × MACs + E_AC × SOPs`` of Real Spike and
  most SNN papers (exact SOPs), and ``paper_formula_rate_dense_pj`` with rate × dense SOPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulators.activity import Activity
from simulators.analytic.counts import count
from simulators.config import ConfigError, load_preset, preset_path, require, unit_field
from simulators.ir import Graph
from simulators.report import Report

PRESETS = Path(__file__).parent / "presets"


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

    def sram_pj_per_bit(self, size_bytes: float) -> float:
        """Energy of one bit read or written in an SRAM holding ``size_bytes``."""
        kib = np.clip(size_bytes / 1024, self.sram_kib[0], self.sram_kib[-1])
        pj64 = np.interp(np.log(kib), np.log(self.sram_kib), self.sram_pj_per_64bit)
        return float(pj64 / 64)


def load_energy_table(
    name_or_path: str | Path = "horowitz-45nm-fp32", overrides: dict[str, Any] | None = None
) -> tuple[EnergyTable, dict]:
    """A preset from ``simulators/analytic/presets`` (or a TOML path), with its provenance."""
    return load_preset(EnergyTable, preset_path(PRESETS, name_or_path), overrides)


def simulate(
    graph: Graph, activity: Activity, config: EnergyTable | str = "horowitz-45nm-fp32"
) -> Report:
    """The analytic Report: per layer, step and event, the count and its energy."""
    provenance: dict = {}
    if isinstance(config, str):
        config, provenance = load_energy_table(config)
    if not isinstance(config, EnergyTable):
        raise ConfigError(f"config must be an EnergyTable or a preset name, got {type(config)}")
    counts = count(graph, activity)
    wb, mb = config.weight_bits, config.membrane_bits
    rows = []
    for r in counts.itertuples(index=False):
        node = graph[r.layer]
        weight_bytes = node.weight_count * wb / 8
        out_bytes = int(np.prod(node.shape)) * mb / 8
        in_bits = r.input_neurons
        events = [
            # component, event, count, energy per event (pJ)
            ("arithmetic", "sop", r.sops, config.add_pj),
            ("arithmetic", "mac", r.macs, config.mac_pj),
            ("arithmetic", "add", r.additions, config.add_pj),
            ("arithmetic", "mult", r.multiplications, config.mult_pj),
            ("arithmetic", "compare", r.comparisons, config.compare_pj),
            (
                "weight_memory",
                "weight_read",
                r.weight_reads,
                wb * config.sram_pj_per_bit(weight_bytes),
            ),
            (
                "accumulator_memory",
                "accumulator_rw",
                r.accumulator_rw,
                mb * config.sram_pj_per_bit(out_bytes),
            ),
            (
                "membrane_memory",
                "membrane_rw",
                r.membrane_rw,
                mb * config.sram_pj_per_bit(out_bytes),
            ),
            (
                "parameter_memory",
                "parameter_read",
                r.parameter_reads,
                mb * config.sram_pj_per_bit(int(np.prod(node.shape)) * mb / 8),
            ),
            (
                "spike_memory",
                "spike_bit_read",
                r.spike_bits_read,
                config.sram_pj_per_bit(in_bits / 8),
            ),
            (
                "spike_memory",
                "spike_bit_write",
                r.spike_bits_written,
                config.sram_pj_per_bit(int(np.prod(node.shape)) / 8),
            ),
        ]
        for component, event, n, pj in events:
            if n:
                rows.append(
                    {
                        "hardware": f"analytic:{config.name}",
                        "layer": r.layer,
                        "op": r.op,
                        "step": r.step,
                        "component": component,
                        "event": event,
                        "events": n,
                        "cycles": 0.0,
                        "energy_pj": n * pj,
                        "area_um2": 0.0,
                    }
                )
    totals = counts[["sops", "sops_rate_dense", "macs", "neuron_updates", "spikes_out"]].sum()
    lif = counts[counts.op == "lif"]
    energy = sum(row["energy_pj"] for row in rows)
    arithmetic = sum(row["energy_pj"] for row in rows if row["component"] == "arithmetic")
    summary = {
        "sops": float(totals.sops),
        "sops_rate_dense": float(totals.sops_rate_dense),
        "macs": float(totals.macs),
        "neuron_updates": float(totals.neuron_updates),
        "spikes": float(totals.spikes_out),
        "firing_rate": float(lif.spikes_out.sum() / lif.neuron_updates.sum()) if len(lif) else 0.0,
        "energy_pj": energy,
        "energy_arithmetic_pj": arithmetic,
        "energy_memory_pj": energy - arithmetic,
        "paper_formula_pj": float(config.mac_pj * totals.macs + config.add_pj * totals.sops),
        "paper_formula_rate_dense_pj": float(
            config.mac_pj * totals.macs + config.add_pj * totals.sops_rate_dense
        ),
        "samples": activity.samples,
        "timesteps": activity.timesteps,
    }
    return Report.from_rows(
        rows,
        config={"model": "analytic", "energy_table": config.__dict__, "sources": provenance},
        summary=summary,
        notes=[
            "events and energies are per inference (mean over the traced samples, all steps)",
            "paper_formula_pj = mac_pj × MACs + add_pj × SOPs, with exact event-driven SOPs",
        ],
    )
