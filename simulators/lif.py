"""The discrete LIF neuron, defined once for every backend.

``u[t] = tau * u[t-1] * (1 - o[t-1]) + x[t]`` and ``o[t] = H(u[t] - v_th)`` with a hard reset.
The step uses only arithmetic that numpy arrays and torch tensors share, so training (torch, with a
surrogate-gradient ``spike`` function), the IR executor (numpy) and the Brian2 check all run this
exact expression. The order of operations is part of the contract: ``(tau * u) * (1 - o)`` is
bit-identical to Brian2's two statements ``u = tau*u; u = u + x`` whenever ``o`` is 0 or 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

TAU = 0.25
V_TH = 0.5


def heaviside(d: Any) -> Any:
    """Spike where ``d >= 0``, in the dtype of ``d`` (numpy)."""
    return (d >= 0).astype(d.dtype)


def lif_step(
    u_prev: Any,
    o_prev: Any,
    x: Any,
    tau: float = TAU,
    v_th: float = V_TH,
    spike: Callable[[Any], Any] = heaviside,
) -> tuple[Any, Any]:
    """One step: ``(u, o)``; ``spike`` maps ``u - v_th`` to 0/1 (a surrogate when training)."""
    u = tau * u_prev * (1 - o_prev) + x
    return u, spike(u - v_th)


def lif_run(
    x_seq: np.ndarray, tau: float = TAU, v_th: float = V_TH
) -> tuple[np.ndarray, np.ndarray]:
    """Run a ``[T, ...]`` input through LIF neurons starting at rest; returns ``(spikes, u)``.

    Both outputs have the shape and dtype of ``x_seq``; ``u`` is the potential before the reset.
    """
    x_seq = np.asarray(x_seq)
    if x_seq.ndim < 1 or x_seq.shape[0] < 1:
        raise ValueError(f"x_seq must be [T, ...] with T >= 1, got shape {x_seq.shape}")
    u = np.zeros_like(x_seq[0])
    o = np.zeros_like(x_seq[0])
    spikes = np.empty_like(x_seq)
    potentials = np.empty_like(x_seq)
    for t in range(x_seq.shape[0]):
        u, o = lif_step(u, o, x_seq[t], tau, v_th)
        spikes[t], potentials[t] = o, u
    return spikes, potentials
