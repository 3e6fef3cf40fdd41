"""How the analytic model re-bases (:mod:`simulators.basis`): its tables are Horowitz's 45 nm,
0.9 V energies; at the common 8-bit weight precision it uses the INT8 table."""

from __future__ import annotations

from simulators.basis import NativeNode

INT8_PRESET = "horowitz-45nm-int8"


def native_node(preset: str) -> NativeNode:
    return NativeNode(45.0, 0.9, "Horowitz ISSCC 2014: 45 nm, 0.9 V (both analytic presets)")


def common_settings(preset: str, settings: dict) -> tuple[str, dict]:
    """8-bit weights: Horowitz's INT8 table (8-bit MACs and adds, 8-bit weights)."""
    return INT8_PRESET, settings
