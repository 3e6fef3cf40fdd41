"""Static energy: leakage per powered tile-cycle, with or without power gating of idle tiles.

``power_gating = "none"`` (NeuroSim's practice, ``main.cpp``: idle tiles leak at full power) keeps
every used tile powered for the whole run: leakage = tiles × cycles × ``leakage_mw_per_tile``.
``"idle-tiles"`` powers a layer's tiles only while the layer works: its crossbar and neuron
cycles, plus ``wakeup_cycles`` at each of its wake-ups (one per sample and time step in which it
works: a layer's tiles sleep between steps). Each wake-up of a tile costs ``wakeup_pj_per_tile``
and delays the layer's first row of that step by ``wakeup_cycles``. A gated tile still leaks
``gated_leakage_fraction`` of its power (volatile SRAM cells held at retention keep their
weights; non-volatile RRAM needs nothing). Tiles shared by layers (``placement = "packed"``) are
counted for each layer, capped at the ungated total.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from simulators.cim.config import CimConfig
from simulators.cim.mapping import ChipMapping
from simulators.cim.work import LayerWork


@dataclass(frozen=True)
class Static:
    """One inference's static energy and what it was charged for."""

    leakage_pj: float
    wakeup_pj: float
    powered_tile_cycles: float
    tile_cycles: float
    wakeups: float


def _wakeups(work: LayerWork) -> np.ndarray:
    """Steps in which a layer works, per sample and step ``[samples, T]``."""
    return work.compute_cycles.sum(-1) > 0


def with_wakeups(work: LayerWork, config: CimConfig) -> LayerWork:
    """The layer's work with ``wakeup_cycles`` added to the first working row of every step
    (gated tiles only)."""
    if config.power_gating == "none" or config.wakeup_cycles == 0:
        return work
    cycles = work.compute_cycles.copy()
    first = np.argmax(cycles > 0, axis=-1)
    s, t = np.nonzero(_wakeups(work))
    cycles[s, t, first[s, t]] += config.wakeup_cycles
    return dataclasses.replace(work, compute_cycles=cycles)


def layer_tiles(mapping: ChipMapping, layer: str) -> int:
    """Tiles that hold a layer's PEs."""
    m, per_tile = mapping.layers[layer], mapping.config.pes_per_tile
    return (m.first_pe + m.pes - 1) // per_tile - m.first_pe // per_tile + 1


def static_energy(
    mapping: ChipMapping, work: dict[str, LayerWork], cycles: float, samples: int
) -> Static:
    """Static energy of one inference lasting ``cycles`` (the stream's makespan / samples)."""
    c = mapping.config
    total = float(mapping.physical_tiles * cycles)  # tiles built (fewer under reload)
    if c.power_gating == "none":
        powered, wakeups = total, 0.0
    else:
        powered = wakeups = 0.0
        for name, w in work.items():
            tiles = layer_tiles(mapping, name)
            woken = float(_wakeups(w).sum()) / samples
            busy = float(w.compute_cycles.sum() + w.neuron_cycles.sum()) / samples
            powered += tiles * busy
            wakeups += tiles * woken
        powered = min(total, powered)
    charged = powered + c.gated_leakage_fraction * (total - powered)
    return Static(
        leakage_pj=c.leakage_mw_per_tile * charged * c.clock_ns,
        wakeup_pj=c.wakeup_pj_per_tile * wakeups,
        powered_tile_cycles=powered,
        tile_cycles=total,
        wakeups=wakeups,
    )
