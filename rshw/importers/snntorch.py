"""snnTorch 1.0 neurons.

From snnTorch 1.0.0's ``_neurons/leaky.py`` and ``neurons.py``: ``Leaky`` computes the reset from
the previous potential, ``R = [U[t−1] > threshold]``; with ``reset_mechanism="zero"``
``U[t] = beta·(1 − R)·U[t−1] + X[t]``, with ``"subtract"`` ``U[t] = beta·U[t−1] + X[t] −
R·threshold``; it fires ``S = [U[t] > threshold]`` (strict), scaled by ``graded_spikes_factor``.
``beta`` is clamped to [0, 1]. The zero reset is the IR's LIF (decay ``beta``); the IR fires on
``u ≥ v_th``, which differs only where the potential equals the threshold exactly.
``Synaptic`` adds a current ``I[t] = alpha·I[t−1] + X[t]`` and its zero reset drops the whole
potential, input included, the step after a spike: no IR LIF has either, so it is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rshw.importers.neuron import ImportRefused, Neuron, scalar

RESETS = {0: "subtract", 1: "zero", 2: "none"}  # snnTorch's reset_dict


def _reset_mechanism(path: str, attrs: dict[str, Any], state: dict[str, np.ndarray]) -> str:
    value = state.get(f"{path}.reset_mechanism_val")  # what forward() uses; the string may lag
    return RESETS[int(np.asarray(value).flat[0])] if value is not None else attrs["reset_mechanism"]


def leaky(path: str, attrs: dict[str, Any], state: dict[str, np.ndarray]) -> Neuron:
    reset = _reset_mechanism(path, attrs, state)
    if reset != "zero":
        why = "subtracts the threshold" if reset == "subtract" else "never resets"
        raise ImportRefused(
            f"{path} (Leaky): reset_mechanism={reset!r} {why}; the IR's LIF resets to 0 "
            "(train with reset_mechanism='zero')"
        )
    if attrs.get("inhibition"):
        raise ImportRefused(f"{path} (Leaky): inhibition (winner-take-all) has no IR counterpart")
    if attrs.get("state_quant") not in (None, False):
        raise ImportRefused(f"{path} (Leaky): a quantized state (state_quant) is not modelled")
    for key in ("beta", "threshold"):
        if f"{path}.{key}" not in state:
            raise ImportRefused(f"{path} (Leaky): no {key!r} in the state dict")
    beta = float(np.clip(scalar(path, "beta", state[f"{path}.beta"]), 0.0, 1.0))
    v_th = scalar(path, "threshold", state[f"{path}.threshold"])
    if v_th <= 0:
        raise ImportRefused(f"{path} (Leaky): threshold {v_th} is not > 0")
    graded = state.get(f"{path}.graded_spikes_factor")
    out = 1.0 if graded is None else scalar(path, "graded_spikes_factor", graded)
    return Neuron(beta, v_th, 1.0, out, strict_threshold=True)


def synaptic(path: str, attrs: dict[str, Any], state: dict[str, np.ndarray]) -> Neuron:
    raise ImportRefused(
        f"{path} (Synaptic): a synaptic current with its own decay (alpha), and a zero reset "
        "that also drops the next step's input, have no IR counterpart; use snn.Leaky"
    )


NEURONS = {"Leaky": leaky, "Synaptic": synaptic}
