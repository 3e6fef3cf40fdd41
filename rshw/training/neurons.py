"""LIF neurons for training: the shared step of :mod:`simulators.lif` with surrogate gradients.

Norse-style: pure functions (:func:`lif_multistep`) and a thin :class:`LIF` module. Tensors are
``[T, B, ...]``. The forward pass is exactly the numpy definition; only the backward pass differs,
through the surrogate derivative chosen by name (see :data:`SURROGATES`).

Two implementations compute the same spikes and gradients. The *eager* one steps
:func:`simulators.lif.lif_step` under autograd: a handful of small kernels per time step. The
*fused* one is a single autograd function over the whole sequence whose forward loop and
hand-written backward (BPTT) loop are each compiled by ``torch.compile`` into one kernel: on a GPU
the eager loop is bound by kernel launches, not arithmetic. ``backend="auto"`` (or the
``RSHW_LIF`` environment variable: ``auto | fused | eager``) picks the fused one for CUDA tensors.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Callable

import torch
from torch import nn

from rshw.errors import OptionError
from simulators.lif import TAU, V_TH, lif_step

LIF_BACKENDS = ("auto", "fused", "eager")
LIF_BACKEND_ENV = "RSHW_LIF"


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


def _heaviside(d: torch.Tensor) -> torch.Tensor:
    return (d >= 0).to(d.dtype)


class _SpikeFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, d: torch.Tensor, surrogate: str) -> torch.Tensor:
        ctx.save_for_backward(d)
        ctx.surrogate = surrogate
        return _heaviside(d)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (d,) = ctx.saved_tensors
        return grad_out * SURROGATES[ctx.surrogate](d), None


def surrogate_spike(surrogate: str = "tanh") -> Callable[[torch.Tensor], torch.Tensor]:
    """The Heaviside spike ``d >= 0`` whose backward pass uses the named surrogate derivative."""
    if surrogate not in SURROGATES:
        raise OptionError(f"unknown surrogate {surrogate!r}; choose one of {sorted(SURROGATES)}")
    return lambda d: _SpikeFunction.apply(d, surrogate)


def lif_multistep(
    x_seq: torch.Tensor,
    tau: float = TAU,
    v_th: float = V_TH,
    surrogate: str = "tanh",
    detach_reset: bool = False,
    return_potential: bool = False,
    backend: str | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Run ``[T, B, ...]`` inputs through LIF neurons from rest; returns spikes (and potentials).

    ``detach_reset`` stops the gradient through the reset term ``(1 - o[t-1])``; the forward pass
    is unchanged. ``backend`` is ``auto | fused | eager`` (default: ``$RSHW_LIF``, else ``auto``).
    """
    if x_seq.dim() < 2:
        raise ValueError(f"x_seq must be [T, B, ...], got shape {tuple(x_seq.shape)}")
    surrogate_spike(surrogate)  # validates the name
    if lif_backend(x_seq, backend) == "fused":
        flat, restore = _time_major_2d(x_seq)
        spikes, u = _FusedLIF.apply(flat, tau, v_th, surrogate, detach_reset)
        return (restore(spikes), restore(u)) if return_potential else restore(spikes)
    return _eager_lif(x_seq, tau, v_th, surrogate, detach_reset, return_potential)


def _eager_lif(x_seq, tau, v_th, surrogate, detach_reset, return_potential):
    """The reference: :func:`lif_step` under autograd, one step at a time."""
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


def lif_backend(x_seq: torch.Tensor, backend: str | None = None) -> str:
    """``"fused"`` or ``"eager"``: what :func:`lif_multistep` runs for ``x_seq`` and ``backend``
    (default: ``$RSHW_LIF``, else ``auto``)."""
    backend = backend or os.environ.get(LIF_BACKEND_ENV) or "auto"
    if backend not in LIF_BACKENDS:
        raise OptionError(
            f"unknown LIF backend {backend!r} (argument or ${LIF_BACKEND_ENV}); "
            f"choose one of {list(LIF_BACKENDS)}"
        )
    if torch.compiler.is_compiling():
        return "eager"  # inside a compiled model the eager loop is traced and fused with the rest
    return "fused" if backend == "fused" or (backend == "auto" and x_seq.is_cuda) else "eager"


def _time_major_2d(x: torch.Tensor):
    """``[T, ...]`` as a ``[T, N]`` tensor in memory order, and the map back to ``[T, ...]``.

    Channels-last activations stay channels-last without a copy, and one compiled kernel (with a
    symbolic ``N``) serves every layer.
    """
    rest = sorted(range(1, x.dim()), key=lambda d: -x.stride(d))
    perm = (0, *rest)
    permuted = x.permute(perm)
    inverse = tuple(perm.index(d) for d in range(x.dim()))
    return permuted.reshape(x.shape[0], -1), lambda y: y.view(permuted.shape).permute(inverse)


def _lif_forward(x: torch.Tensor, tau: float, v_th: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Spikes and potentials of ``[T, N]`` inputs: the shared :func:`lif_step`, no autograd."""
    u = torch.zeros_like(x[0])
    o = torch.zeros_like(x[0])
    spikes, potentials = [], []
    for t in range(x.shape[0]):
        u, o = lif_step(u, o, x[t], tau, v_th, _heaviside)
        spikes.append(o)
        potentials.append(u)
    return torch.stack(spikes), torch.stack(potentials)


def _lif_backward(
    grad_spikes: torch.Tensor | None,
    grad_u: torch.Tensor | None,
    spikes: torch.Tensor,
    u: torch.Tensor,
    tau: float,
    v_th: float,
    surrogate: str,
    detach_reset: bool,
) -> torch.Tensor:
    """Backpropagation through time of ``u[t] = tau·u[t-1]·(1 - o[t-1]) + x[t]``.

    Written in the order autograd evaluates the eager loop, so that both round alike. The reset
    uses the spikes of the forward pass rather than ``u >= v_th`` again: under bf16 the stored
    ``u`` is rounded and could fall on the other side of the threshold.
    """
    sg = SURROGATES[surrogate]
    grads: list[torch.Tensor] = []
    gu_next = None
    for t in reversed(range(u.shape[0])):
        d = u[t] - v_th
        go = grad_spikes[t] if grad_spikes is not None else torch.zeros_like(d)
        if gu_next is not None and not detach_reset:
            go = go - gu_next * (tau * u[t])  # u[t+1] depends on o[t] through the reset
        gu = go * sg(d)
        if gu_next is not None:
            gu = gu + gu_next * (1 - spikes[t]) * tau
        if grad_u is not None:
            gu = gu + grad_u[t]
        grads.append(gu)
        gu_next = gu
    return torch.stack(grads[::-1])


class _FusedLIF(torch.autograd.Function):
    """The whole ``[T, N]`` sequence as one autograd node; saves the potentials and the spikes
    (which the next layer keeps for its own backward anyway)."""

    @staticmethod
    def forward(ctx, x, tau, v_th, surrogate, detach_reset):
        spikes, u = _run_compiled(_lif_forward, x, tau, v_th)
        ctx.save_for_backward(spikes, u)
        ctx.params = (tau, v_th, surrogate, detach_reset)
        ctx.set_materialize_grads(False)
        return spikes, u

    @staticmethod
    def backward(ctx, grad_spikes, grad_u):
        spikes, u = ctx.saved_tensors
        grad_x = _run_compiled(_lif_backward, grad_spikes, grad_u, spikes, u, *ctx.params)
        return grad_x, None, None, None, None


_compile_failed = False


def _run_compiled(fn: Callable, *args):
    """``fn(*args)`` through ``torch.compile``; after a first failure (one warning), ``fn`` as is:
    the two loops compute the same either way."""
    global _compile_failed
    if _compile_failed:
        return fn(*args)
    try:
        return _compiled(fn)(*args)
    except torch.OutOfMemoryError:
        raise
    except Exception as e:  # compilers fail in many ways (no Triton, no C compiler, ...)
        _compile_failed = True
        first_line = (str(e).strip().splitlines() or [""])[0]
        warnings.warn(
            f"torch.compile of the fused LIF failed ({type(e).__name__}: {first_line}); running "
            f"its loops uncompiled (same results, slower). {LIF_BACKEND_ENV}=eager selects the "
            "eager LIF instead.",
            RuntimeWarning,
            stacklevel=2,
        )
        return fn(*args)


@functools.cache
def _compiled(fn: Callable) -> Callable:
    return torch.compile(fn, dynamic=True, fullgraph=True)


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
