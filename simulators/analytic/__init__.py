"""Analytic hardware model: exact operation counts × per-operation energies (45 nm tables)."""

from simulators.analytic.counts import COUNT_COLUMNS, count
from simulators.analytic.model import EnergyTable, load_energy_table, simulate

__all__ = ["COUNT_COLUMNS", "EnergyTable", "count", "load_energy_table", "simulate"]
