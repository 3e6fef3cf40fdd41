"""SpikingJelly 2.0 (``spikingjelly.activation_based``): its neurons and residual blocks.

Neuron equations, from SpikingJelly 2.0.0's ``_ops/lif/reference.py`` and ``_ops/reset.py``
(``H`` is the charged potential, ``V`` the potential after reset):

- ``LIFNode(tau, decay_input, v_threshold, v_reset)``: ``H = V + (X − (V − v_reset))/tau`` with
  ``decay_input``, else ``H = V − (V − v_reset)/tau + X``; spike ``H ≥ v_threshold``; hard reset
  ``V = S·v_reset + (1 − S)·H``, soft reset (``v_reset=None``) ``V = H − S·v_threshold``.
- ``IFNode``: ``H = V + X``; ``ParametricLIFNode``: ``LIFNode`` with ``1/tau = sigmoid(w)``.

With ``v_reset = 0`` this is the IR's LIF with decay ``1 − 1/tau`` and input gain ``1/tau``
(``decay_input``) or 1. ``detach_reset`` only changes gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rshw.importers.neuron import ImportRefused, Neuron


def _reset(path: str, cls: str, attrs: dict[str, Any]) -> None:
    v_reset = attrs.get("v_reset", 0.0)
    if v_reset is None:
        raise ImportRefused(
            f"{path} ({cls}): soft reset (v_reset=None) subtracts v_threshold on a spike; the "
            "IR's LIF resets to 0 (train with v_reset=0.0)"
        )
    if v_reset != 0:
        raise ImportRefused(
            f"{path} ({cls}): v_reset={v_reset}; the IR's LIF resets to 0 and leaks towards 0"
        )


def _threshold(path: str, cls: str, attrs: dict[str, Any]) -> float:
    v_th = attrs.get("v_threshold")
    if not isinstance(v_th, (int, float)) or v_th <= 0:
        raise ImportRefused(f"{path} ({cls}): v_threshold {v_th!r} is not a number > 0")
    return float(v_th)


def lif_node(path: str, attrs: dict[str, Any], state: dict[str, np.ndarray]) -> Neuron:
    _reset(path, "LIFNode", attrs)
    tau = attrs.get("tau")
    if not isinstance(tau, (int, float)) or tau < 1:
        raise ImportRefused(f"{path} (LIFNode): tau {tau!r} < 1 gives a negative decay")
    gain = 1.0 / tau if attrs.get("decay_input", True) else 1.0
    return Neuron(1.0 - 1.0 / tau, _threshold(path, "LIFNode", attrs), gain)


def if_node(path: str, attrs: dict[str, Any], state: dict[str, np.ndarray]) -> Neuron:
    _reset(path, "IFNode", attrs)
    return Neuron(1.0, _threshold(path, "IFNode", attrs))


def parametric_lif_node(path: str, attrs: dict[str, Any], state: dict[str, np.ndarray]) -> Neuron:
    _reset(path, "ParametricLIFNode", attrs)
    w = state.get(f"{path}.w")
    if w is None or np.asarray(w).size != 1:
        raise ImportRefused(f"{path} (ParametricLIFNode): needs its one learned 'w' in the state")
    q = float(1.0 / (1.0 + np.exp(-float(np.asarray(w).flat[0]))))
    gain = q if attrs.get("decay_input", True) else 1.0
    return Neuron(1.0 - q, _threshold(path, "ParametricLIFNode", attrs), gain)


NEURONS = {"LIFNode": lif_node, "IFNode": if_node, "ParametricLIFNode": parametric_lif_node}


def is_sew_block(desc: dict[str, Any]) -> bool:
    """``sew_resnet.BasicBlock``: conv1, bn1, sn1, conv2, bn2, sn2, its ``cnf`` connect function."""
    return desc["class"] == "BasicBlock" and "cnf" in desc["attrs"]


def is_spiking_block(desc: dict[str, Any]) -> bool:
    """``spiking_resnet.BasicBlock``: the add before ``sn2`` (tdBN-style)."""
    names = {n for n, _ in desc["children"]}
    return desc["class"] == "BasicBlock" and "cnf" not in desc["attrs"] and "sn2" in names


RESNET_ORDER = ("conv1", "bn1", "sn1", "maxpool", "layer1", "layer2", "layer3", "layer4")
"""``SEWResNet`` / ``SpikingResNet._forward_impl``: these, then avgpool, flatten, fc."""


def is_resnet(desc: dict[str, Any]) -> bool:
    return desc["class"] in ("SEWResNet", "SpikingResNet")
