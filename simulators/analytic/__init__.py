"""Analytic hardware model: exact operation counts × per-operation energies (45 nm tables)."""

from simulators.analytic.counts import COUNT_COLUMNS, SOP_COLUMNS, count
from simulators.analytic.memory import WeightPlacement, place_weights
from simulators.analytic.model import PRESETS, EnergyTable, load_energy_table, simulate
from simulators.config import preset_names as _names


def preset_names() -> list[str]:
    return _names(PRESETS)


__all__ = [
    "COUNT_COLUMNS",
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

load_config = load_energy_table
"""The same loader under the name every hardware package uses: ``load_config(name, overrides)``."""
