"""Analytic hardware model: exact operation counts × per-operation energies (45 nm tables)."""

from simulators.analytic.components import COMPONENT_CATEGORIES
from simulators.analytic.counts import COUNT_COLUMNS, SOP_COLUMNS, count
from simulators.analytic.memory import WeightPlacement, place_weights
from simulators.analytic.model import PRESETS, EnergyTable, load_energy_table, simulate
from simulators.config import preset_names as _names


def preset_names() -> list[str]:
    return _names(PRESETS)


__all__ = [
    "CALIBRATED",
    "COMPARED",
    "COMPONENT_CATEGORIES",
    "COUNT_COLUMNS",
    "DEFAULT_PRESET",
    "DEFAULT_SETTINGS",
    "INFEASIBLE",
    "NOTES",
    "OPTIONS",
    "PRESETS",
    "SOP_COLUMNS",
    "EnergyTable",
    "WeightPlacement",
    "accuracy",
    "count",
    "load_config",
    "load_energy_table",
    "place_weights",
    "preset_names",
    "simulate",
]

OPTIONS: dict = {}
"""Run options of :func:`simulate` (the hardware protocol): none, everything is in the preset."""

# What this hardware declares to the registry (simulators/registry.py).
DEFAULT_PRESET = "horowitz-45nm-fp32"
DEFAULT_SETTINGS: dict = {}
CALIBRATED: dict = {}  # an energy table from the literature: nothing measured
accuracy = None  # it counts operations; it computes no outputs
INFEASIBLE: tuple = ()
COMPARED = tuple(preset_names())  # the comparison runs every energy table
NOTES: dict = {}


def load_config(preset="horowitz-45nm-fp32", overrides=None) -> EnergyTable:
    """The hardware protocol's loader: a preset name or TOML path with ``overrides``."""
    return load_energy_table(preset, overrides)[0]
