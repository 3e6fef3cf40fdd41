"""Cycle-level model of a compute-in-memory crossbar chip (SimPy), with its closed form.

``simulate(graph, activity, config)`` maps a binary-spike IR graph onto crossbars, PEs, tiles and
chips, counts the work of every output row from the recorded spike maps (event-driven) or reads
everything (dense), runs the chip as SimPy processes and returns the common Report.
"""

from simulators.cim.components import COMPONENT_CATEGORIES
from simulators.cim.config import PRESETS, CimConfig, load_config, preset_names
from simulators.cim.mapping import ChipMapping, LayerMapping, MappingError, map_graph, mapping_table
from simulators.cim.model import estimate, simulate

OPTIONS = {
    "mode": (str, ("event", "dense"), "event-driven reads of the recorded spikes, or read all"),
    "samples": (int, None, "traced images to simulate (the first N)"),
}
"""Run options of :func:`simulate` (hardware protocol): name -> (type, allowed or None, help)."""

__all__ = [
    "COMPONENT_CATEGORIES",
    "OPTIONS",
    "PRESETS",
    "ChipMapping",
    "CimConfig",
    "LayerMapping",
    "MappingError",
    "estimate",
    "load_config",
    "map_graph",
    "mapping_table",
    "preset_names",
    "simulate",
]
