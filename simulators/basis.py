"""One basis for comparing hardware models: the same weight precision, technology node, weight
capacity policy and static-energy rule on every model (``common``), or each model as its sources
built it (``native``).

The native rows of a table answer "what does this design cost, as published"; they differ in
weight precision (32-bit analytic, 4/8-bit CIM cells, bf16 GPU), node (45, 65/22, 4-8 nm) and
where weights live (1 MiB SRAM re-read every step, resident crossbars, HBM once per batch), so a
ratio between two models is mostly a ratio of those assumptions. ``common`` answers "how do the
architectures compare when only the architecture differs":

- **weight precision** :data:`COMMON_WEIGHT_BITS` (8 bit: the analytic model's INT8 table, INT8
  tensor cores on the GPU, 8-bit weights in CIM cells): each hardware package's
  ``basis.common_settings`` says how it runs at that precision;
- **technology node** :data:`COMMON_NODE` (45 nm at 0.9 V, Horowitz's ISSCC 2014 table, the
  node of most SNN energy figures): every on-chip energy is scaled by the energy equations of
  Stillmaker & Baas (:func:`energy_factor`) from the node and supply each package declares
  (``basis.native_node``); off-chip energies (DRAM, chip links) are not CMOS logic and are not
  scaled;
- **capacity policy** "every weight crosses from off-chip DRAM once per inference, at
  :data:`COMMON_DRAM_PJ_PER_BIT`; activations and membranes stay on chip": each model's own DRAM
  rows are replaced by one ``dram``/``weight_read_bit`` row per weighted layer;
- **static energy**: each model's own static/leakage energy over its own time, not node-scaled
  (Stillmaker & Baas's equations are per operation; leakage depends on the transistor count and
  threshold voltages, which no preset gives); a model without a time axis (the analytic one) has
  none to charge, and the summary's ``basis_static`` says so.

Applied to a Report (:func:`rebase_report`), so every table row of a run says which basis made it.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass

import pandas as pd

from simulators.ir import WEIGHTED_OPS, Graph
from simulators.report import Report

BASES = ("native", "common")
COMMON_WEIGHT_BITS = 8
COMMON_NODE = (45.0, 0.9)  # nm, V: Horowitz ISSCC 2014's 45 nm table at 0.9 V
COMMON_DRAM_PJ_PER_BIT = 1300.0 / 64  # Horowitz ISSCC 2014: DRAM 1.3 nJ per 64-bit access (low end)
OFF_CHIP = ("dram", "chip_link")  # components that are not CMOS logic of the chip's node

# Stillmaker & Baas, "Scaling equations for the accurate prediction of CMOS device performance
# from 180 nm to 7 nm", Integration 58 (2017) 74-81: energy per operation at node n and supply V
# is a2*V^2 + a1*V + a0 (Table 4; high-performance (HP) fits below 65 nm). Nodes in nm.
STILLMAKER_ENERGY = {
    180: (0.0, 24.64, -17.98),
    130: (7.171, -6.709, 2.904),
    90: (4.762, -4.781, 2.092),
    65: (3.755, -4.398, 1.975),
    45: (1.018, -0.3107, 0.1539),
    32: (0.8367, -0.4341, 0.1701),
    20: (0.373, -0.1582, 0.04104),
    16: (0.2958, -0.1241, 0.03024),
    14: (0.2363, -0.09675, 0.02239),
    10: (0.2068, -0.09311, 0.02375),
    7: (0.1776, -0.09097, 0.02447),
}


def _at(node: int, vdd: float) -> float:
    a2, a1, a0 = STILLMAKER_ENERGY[node]
    return a2 * vdd**2 + a1 * vdd + a0


def energy_factor(node_nm: float, vdd_v: float) -> float:
    """Stillmaker & Baas's energy per operation at ``node_nm`` and ``vdd_v`` (relative units);
    between two table nodes, linear in the node; outside 7-180 nm an error."""
    nodes = sorted(STILLMAKER_ENERGY)
    if not nodes[0] <= node_nm <= nodes[-1]:
        raise ValueError(
            f"node {node_nm} nm is outside Stillmaker & Baas's 7-180 nm equations; declare the "
            "nearest node it is evaluated at, with a note"
        )
    if node_nm in STILLMAKER_ENERGY:
        return _at(int(node_nm), vdd_v)
    below = max(n for n in nodes if n < node_nm)
    above = min(n for n in nodes if n > node_nm)
    w = (node_nm - below) / (above - below)
    return (1 - w) * _at(below, vdd_v) + w * _at(above, vdd_v)


def node_scale(native: tuple[float, float], common: tuple[float, float] = COMMON_NODE) -> float:
    """Factor taking an on-chip energy from ``native`` (nm, V) to ``common`` (nm, V)."""
    return energy_factor(*common) / energy_factor(*native)


@dataclass(frozen=True)
class NativeNode:
    """Where a preset's energies were made: node and supply, and the source that says so."""

    node_nm: float
    vdd_v: float
    source: str
    static_components: tuple[str, ...] = ()  # report components holding static energy


def declared_node(nodes: dict[str, NativeNode], preset: str, hardware: str) -> NativeNode:
    """``nodes[preset]``, or one line saying where a new preset's node must be declared."""
    if preset not in nodes:
        raise ValueError(
            f"no node declared for {hardware} preset {preset!r}: add it to "
            f"simulators/{hardware}/basis.py"
        )
    return nodes[preset]


def weight_read_rows(graph: Graph, hardware: str, bits: int) -> list[dict]:
    """The common capacity policy's DRAM rows: each weighted layer's weights, once per inference."""
    rows = []
    for node in graph:
        if node.op in WEIGHTED_OPS and node.weight_count:
            count = float(node.weight_count * bits)
            rows.append(
                {
                    "hardware": hardware,
                    "layer": node.name,
                    "op": node.op,
                    "step": -1,
                    "component": "dram",
                    "event": "weight_read_bit",
                    "events": count,
                    "cycles": 0.0,
                    "energy_pj": count * COMMON_DRAM_PJ_PER_BIT,
                    "area_um2": 0.0,
                }
            )
    return rows


def rebase_report(report: Report, graph: Graph, native: NativeNode) -> Report:
    """The report on the common basis (see the module docstring); ``report`` must already have
    run at the common weight precision (its package's ``basis.common_settings``)."""
    frame = report.frame.copy()
    scale = node_scale((native.node_nm, native.vdd_v))
    on_chip = ~frame.component.isin((*OFF_CHIP, *native.static_components))
    frame.loc[on_chip, "energy_pj"] *= scale
    frame = frame[frame.component != "dram"]
    hardware = str(report.frame.hardware.iloc[0]) if len(report.frame) else ""
    dram = pd.DataFrame(weight_read_rows(graph, hardware, COMMON_WEIGHT_BITS))
    frame = pd.concat([frame, dram], ignore_index=True) if len(dram) else frame
    native_pj, common_pj = report.total_energy_pj(), float(frame.energy_pj.sum())
    weights_pj = float(dram.energy_pj.sum()) if len(dram) else 0.0
    summary = {
        **report.summary,
        "basis": "common",
        "energy_pj": common_pj,
        "energy_native_pj": native_pj,
        "node_scale": scale,
        "basis_node": f"{native.node_nm:g} nm {native.vdd_v:g} V -> "
        f"{COMMON_NODE[0]:g} nm {COMMON_NODE[1]:g} V",
        "basis_weight_dram_pj": weights_pj,
        "basis_static": "own, not node-scaled"
        if native.static_components
        else "none (no time axis)",
    }
    per_image = report.per_image.copy()
    if "energy_pj" in per_image and native_pj > 0:
        # each image keeps its share of the on-chip energy; the weight reads are the same for all
        per_image["energy_pj"] = per_image.energy_pj * (common_pj - weights_pj) / native_pj
        per_image["energy_pj"] += weights_pj
    notes = [
        *report.notes,
        f"basis common: {COMMON_WEIGHT_BITS}-bit weights; on-chip energies x {scale:.4g} "
        f"({summary['basis_node']}, Stillmaker & Baas 2017); own DRAM rows replaced by every "
        f"weight read once per inference at {COMMON_DRAM_PJ_PER_BIT:.4g} pJ/bit (Horowitz 2014)",
    ]
    return dataclasses.replace(
        report, frame=frame, summary=summary, per_image=per_image, notes=notes
    )


def check_basis(name: str) -> str:
    """``name`` if it is a basis, else one error line listing them."""
    if name not in BASES:
        raise ValueError(f"unknown basis {name!r}; choose one of {', '.join(BASES)}")
    return name


def _declaration(hardware: str):
    """``simulators.<hardware>.basis``: how that hardware re-bases (``native_node(preset)`` and
    ``common_settings(preset, settings) -> (preset, settings)``)."""
    return importlib.import_module(f"simulators.{hardware}.basis")


def common_run(hardware: str, preset: str, settings: dict) -> tuple[str, dict]:
    """The preset and settings a run takes on the common basis (its weight precision)."""
    return _declaration(hardware).common_settings(preset, dict(settings))


def rebase(hardware: str, preset: str, report: Report, graph: Graph, basis: str) -> Report:
    """``report`` on ``basis``: labelled for native, :func:`rebase_report` for common."""
    if check_basis(basis) == "native":
        return dataclasses.replace(report, summary={**report.summary, "basis": "native"})
    return rebase_report(report, graph, _declaration(hardware).native_node(preset))
