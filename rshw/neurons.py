"""LIF neurons for training: the shared step of :mod:`simulators.lif` with surrogate gradients.

Norse-style: pure functions (:func:`lif_multistep`) and a thin :class:`LIF` module. Tensors are
``[T, B, ...]``. The forward pass is exactly the numpy definition; only the backward pass differs,
through the surrogate derivative chosen by name (see :data:`SURROGATES`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from simulators.lif import TAU, V_TH, lif_step


def _rectangular(d: torch.Tensor, width: float = 1.0) -> torch.Tensor:
    return (d.abs() < width / 2).to(d.dtype) / width


def _dspike(d: torch.Tensor, temperature: float = 3.0) -> torch.Tensor:
    # Dspike (Li et al., NeurIPS 2021): tanh-shaped on a unit window around the threshold,
    # normalised so that its integral over the window is 1.
    inside = (d.abs() <= 0.5).to(d.dtype)
    t = torch.tanh(temperature * d)
    return inside * temperature * (1 - t * t) / (2 * math.tanh(temperature / 2))


def _sigmoid(d: torch.Tensor, alpha: float = 4.0) -> torch.Tensor:
    s = torch.sigmoid(alpha * d)
    return alpha * s * (1 - s)


def _atan(d: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    return (alpha / 2) / (1 + (math.pi / 2 * alpha * d) ** 2)


SURROGATES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "rectangular": _rectangular,
    "tanh": _dspike,
    "dspike": _dspike,
    "sigmoid": _sigmoid,
    "atan": _atan,
}
"""Surrogate derivatives dH/dd of the spike function at ``d = u - v_th``, by name."""


class _SpikeFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, d: torch.Tensor, surrogate: str) -> torch.Tensor:
        ctx.save_for_backward(d)
        ctx.surrogate = surrogate
        return (d >= 0).to(d.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (d,) = ctx.saved_tensors
        return grad_out * SURROGATES[ctx.surrogate](d), None


def surrogate_spike(surrogate: str = "tanh") -> Callable[[torch.Tensor], torch.Tensor]:
    """The Heaviside spike ``d >= 0`` whose backward pass uses the named surrogate derivative."""
    if surrogate not in SURROGATES:
        raise ValueError(f"unknown surrogate {surrogate!r}; choose one of {sorted(SURROGATES)}")
    return lambda d: _SpikeFunction.apply(d, surrogate)


def lif_multistep(
    x_seq: torch.Tensor,
    tau: float = TAU,
    v_th: float = V_TH,
    surrogate: str = "tanh",
    detach_reset: bool = False,
    return_potential: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Run ``[T, B, ...]`` inputs through LIF neurons from rest; returns spikes (and potentials).

    ``detach_reset`` stops the gradient through the reset term ``(1 - o[t-1])``; the forward pass
    is unchanged.
    """
    if x_seq.dim() < 2:
        raise ValueError(f"x_seq must be [T, B, ...], got shape {tuple(x_seq.shape)}")
    spike = surrogate_spike(surrogate)
    u = torch.zeros_like(x_seq[0])
    o = torch.zeros_like(x_seq[0])
    spikes, potentials = [], []
    for t in range(x_seq.shape[0]):
        u, o_new = lif_step(u, o.detach() if detach_reset else o, x_seq[t], tau, v_th, spike)
        o = o_new
        spikes.append(o)
        if return_potential:
            potentials.append(u)
    if return_potential:
        return torch.stack(spikes), torch.stack(potentials)
    return torch.stack(spikes)


class LIF(nn.Module):
    """Multi-step LIF layer over ``[T, B, ...]`` inputs, hard reset, no learnable state."""

    def __init__(
        self,
        tau: float = TAU,
        v_th: float = V_TH,
        surrogate: str = "tanh",
        detach_reset: bool = False,
    ) -> None:
        super().__init__()
        surrogate_spike(surrogate)  # validate the name now, not at the first forward
        self.tau, self.v_th, self.surrogate, self.detach_reset = tau, v_th, surrogate, detach_reset

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return lif_multistep(x_seq, self.tau, self.v_th, self.surrogate, self.detach_reset)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, v_th={self.v_th}, surrogate={self.surrogate!r}"
