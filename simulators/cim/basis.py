"""How the CIM presets re-base (:mod:`simulators.basis`): the node and supply their energies
were made at, and 8-bit weights (``weight_bits`` = 8, sliced over the preset's cells)."""

from __future__ import annotations

from simulators.basis import NativeNode, declared_node

STATIC = ("leakage",)  # the leakage/static rows (leakage_mw_per_tile over the time)
NODES = {
    "spikesim-rram-65nm": NativeNode(
        65.0,
        1.1,
        "SpikeSim (Moitra et al., TCAD 2023): 65 nm; 1.1 V, the 65 nm nominal supply",
        STATIC,
    ),
    "neurosim-rram-22nm": NativeNode(
        22.0, 0.8, "DNN+NeuroSim V1.3 technode 22; 0.8 V, the PTM 22 nm HP nominal supply", STATIC
    ),
    "neurosim-sram-22nm": NativeNode(
        22.0, 0.8, "DNN+NeuroSim V1.3 technode 22; 0.8 V, the PTM 22 nm HP nominal supply", STATIC
    ),
}


def native_node(preset: str) -> NativeNode:
    return declared_node(NODES, preset, "cim")


def common_settings(preset: str, settings: dict) -> tuple[str, dict]:
    return preset, {**settings, "weight_bits": 8}
