"""Analytic hardware model: exact operation counts × per-operation energies (45 nm tables)."""

from simulators.analytic.components import COMPONENT_CATEGORIES
from simulators.analytic.counts import COUNT_COLUMNS, SOP_COLUMNS, count
from simulators.analytic.memory import WeightPlacement, place_weights
from simulators.analytic.model import PRESETS, EnergyTable, load_energy_table, simulate
from simulators.config import preset_names as _names


def preset_names() -> list[str]:
    return _names(PRESETS)


__all__ = [
    "COMPONENT_CATEGORIES",
    "COUNT_COLUMNS",
    "OPTIONS",
    "PRESETS",
    "SOP_COLUMNS",
    "EnergyTable",
    "WeightPlacement",
    "count",
    "load_config",
    "load_energy_table",
    "place_weights",
    "preset_names",
    "simulate",
]

OPTIONS: dict = {}
"""Run options of :func:`simulate` (the hardware protocol): none, everything is in the preset."""


def load_config(preset="horowitz-45nm-fp32", overrides=None) -> EnergyTable:
    """The hardware protocol's loader: a preset name or TOML path with ``overrides``."""
    return load_energy_table(preset, overrides)[0]
