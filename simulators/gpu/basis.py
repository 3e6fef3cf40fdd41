"""How the GPU presets re-base (:mod:`simulators.basis`): the node and supply their energies
stand for, and INT8 tensor cores for the common 8-bit weights (``dtype="int8"``)."""

from __future__ import annotations

from simulators.basis import NativeNode, declared_node

HOPPER = (
    "TSMC 4N (5 nm class), evaluated at 7 nm, 0.7 V (the smallest node of Stillmaker & Baas's "
    "equations, at ASAP7's nominal supply): its energies at 45 nm are then a lower bound"
)
STATIC = ("stream",)  # the stream/elapsed rows: static power over each layer's time
NODES = {
    "h200": NativeNode(7.0, 0.7, HOPPER, STATIC),
    "h100-sxm": NativeNode(7.0, 0.7, HOPPER, STATIC),
    "a100-sxm": NativeNode(
        7.0, 0.7, "TSMC N7 (A100 whitepaper); 0.7 V, ASAP7's nominal supply", STATIC
    ),
    "orin": NativeNode(8.0, 0.7, "Samsung 8 nm (Orin technical brief); 0.7 V as at 7 nm", STATIC),
}


def native_node(preset: str) -> NativeNode:
    return declared_node(NODES, preset, "gpu")


def common_settings(preset: str, settings: dict) -> tuple[str, dict]:
    return preset, {**settings, "dtype": "int8"}
