"""What an imported spiking neuron becomes in the IR, and the error for what cannot come in.

The IR's LIF is ``u[t] = tau·u[t−1]·(1 − o[t−1]) + x[t]``, ``o[t] = [u[t] ≥ v_th]`` (hard reset
to 0). A framework's neuron maps onto it as a decay ``tau``, a threshold ``v_th``, an input gain
(folded into the layer that feeds the neuron) and an output scale (a graded spike, folded into
the layers that read it, like a Real Spike ``a``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rshw.errors import RshwError


class ImportRefused(RshwError):
    """A module of the imported network has no exact counterpart in the IR; the message names
    the module and why."""


@dataclass(frozen=True)
class Neuron:
    """A LIF of the IR: ``decay`` (the IR's ``tau``), ``v_th``, and the gains folded around it."""

    decay: float
    v_th: float
    input_gain: float = 1.0
    output_scale: float = 1.0
    strict_threshold: bool = False  # the framework fires on u > v_th (the IR: u ≥ v_th)


def scalar(path: str, name: str, value: object) -> float:
    """A neuron parameter that is the same for every neuron of the layer, as a float."""
    array = np.asarray(value, dtype=np.float64)
    if array.size == 0 or not np.all(array == array.flat[0]):
        raise ImportRefused(
            f"{path}: {name} differs between neurons ({array.size} values); the IR's LIF has one "
            f"{name} per layer"
        )
    return float(array.flat[0])
