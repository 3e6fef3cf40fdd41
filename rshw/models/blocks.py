"""Building blocks shared by the model zoo. Every block maps ``[T, B, ...]`` to ``[T, B, ...]``.

Convolutions and BatchNorm run on the time-merged batch ``[T*B, C, H, W]``, so BN statistics are
pooled over time and batch (tdBN-style). A :class:`SpikeAct` is a LIF layer, an optional max-pool of
its binary spikes, then Real Spike scaling: consumers always receive ``a ⊙ o`` with binary ``o``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from rshw.errors import OptionError
from rshw.training.distributed import gather_from_processes, world_size
from rshw.training.neurons import LIF
from rshw.training.realspike import RealSpike, check_granularity


def merge_time(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a per-sample module to ``[T, B, ...]`` by merging T into the batch."""
    t, b = x.shape[:2]
    y = module(x.flatten(0, 1))
    return y.view(t, b, *y.shape[1:])


def conv_out(size: tuple[int, int], kernel: int, stride: int, padding: int) -> tuple[int, int]:
    """Spatial output size of a convolution or pooling window."""
    return tuple((s + 2 * padding - kernel) // stride + 1 for s in size)  # type: ignore[return-value]


def as_hw(input_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(input_size, int):
        return (input_size, input_size)
    h, w = input_size
    return (int(h), int(w))


class SyncedBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics span every process of an active process group.

    In data-parallel training each process holds a share of the batch; pooling the statistics
    over the processes makes N processes normalise, and so train, as one process does on the
    whole batch (torch's SyncBatchNorm does the same on GPUs only). Alone, it is BatchNorm2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or world_size() == 1:
            return super().forward(x)
        xf = x.to(torch.promote_types(x.dtype, torch.float32))  # bf16 in, statistics in fp32
        mean, var, count = self._global_moments(xf)
        self._update_running_stats(mean.detach(), var.detach(), count)
        scale = self.weight * torch.rsqrt(var + self.eps)
        y = (xf - mean.view(-1, 1, 1)) * scale.view(-1, 1, 1) + self.bias.view(-1, 1, 1)
        return y.to(x.dtype)

    def _global_moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batch mean and biased variance per channel over every process, and the count.

        Each process's own mean and variance (accurate, as torch computes them) are gathered and
        combined exactly (Chan et al.): pooling raw sums of squares instead loses the variance to
        cancellation in float32 whenever the mean is large against the spread.
        """
        var, mean = torch.var_mean(x, dim=(0, 2, 3), correction=0)
        count = mean.new_full((1,), x.numel() / x.shape[1])
        every = gather_from_processes(torch.cat([mean, var, count]).double())
        means, variances, counts = every[:, : len(mean)], every[:, len(mean) : -1], every[:, -1:]
        total = counts.sum()
        pooled_mean = (counts * means).sum(0) / total
        pooled_var = (counts * (variances + (means - pooled_mean).square())).sum(0) / total
        return pooled_mean.to(x.dtype), pooled_var.to(x.dtype), total

    @torch.no_grad()
    def _update_running_stats(
        self, mean: torch.Tensor, var: torch.Tensor, count: torch.Tensor
    ) -> None:
        """As BatchNorm2d does: exponential (or cumulative) average, unbiased variance."""
        self.num_batches_tracked.add_(1)
        momentum = self.momentum
        if momentum is None:
            momentum = 1.0 / float(self.num_batches_tracked)
        unbiased = var * (count / (count - 1)).to(var.dtype)
        self.running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
        self.running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)


class ConvBN(nn.Module):
    """Conv2d (no bias) + BatchNorm2d over ``[T, B, C, H, W]``, BN pooled over T and B (and over
    the processes of a data-parallel run, see :class:`SyncedBatchNorm`)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.bn = SyncedBatchNorm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return merge_time(nn.Sequential(self.conv, self.bn), x)

    def forward_static(self, x: torch.Tensor, timesteps: int) -> torch.Tensor:
        """A static image ``[B, C, H, W]`` repeated over T: computed once, then broadcast.

        Equal to ``forward`` on the repeated input: identical copies leave the BN batch mean and
        (biased) variance unchanged, so only the running-variance update differs, by ``n/(n-1)``.
        """
        y = self.bn(self.conv(x))
        return y.unsqueeze(0).expand(timesteps, *y.shape)


class SpikeAct(nn.Module):
    """LIF → optional max-pool of the binary spikes → Real Spike ``a ⊙ o``.

    ``feature_shape`` is the shape Real Spike sees, i.e. after the pool.
    """

    def __init__(
        self,
        feature_shape: Sequence[int],
        realspike: str,
        neuron: dict[str, Any],
        maxpool: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__()
        self.lif = LIF(**neuron)
        self.pool = nn.MaxPool2d(*maxpool) if maxpool else None
        self.realspike = RealSpike(realspike, feature_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o = self.lif(x)
        if self.pool is not None:
            o = merge_time(self.pool, o)
        return self.realspike(o)


class AvgPool(nn.Module):
    """Average pooling over ``[T, B, C, H, W]``; ``kernel=None`` pools globally to ``[T, B, C]``."""

    def __init__(self, kernel: int | None = None) -> None:
        super().__init__()
        self.kernel = kernel
        self.pool = nn.AvgPool2d(kernel) if kernel else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is None:
            return x.mean(dim=(-2, -1))
        return merge_time(self.pool, x)


class Flatten(nn.Module):
    """``[T, B, C, H, W]`` → ``[T, B, C·H·W]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2)


class BasicBlock(nn.Module):
    """ResNet basic block; the spike comes after the residual add.

    A 1×1 conv + BN shortcut replaces the identity when the stride or the width changes.
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        stride: int,
        in_hw: tuple[int, int],
        realspike: str,
        neuron: dict[str, Any],
    ) -> None:
        super().__init__()
        self.out_hw = conv_out(in_hw, 3, stride, 1)
        self.conv1 = ConvBN(cin, cout, 3, stride, 1)
        self.spike1 = SpikeAct((cout, *self.out_hw), realspike, neuron)
        self.conv2 = ConvBN(cout, cout, 3, 1, 1)
        self.shortcut = ConvBN(cin, cout, 1, stride, 0) if stride != 1 or cin != cout else None
        self.spike2 = SpikeAct((cout, *self.out_hw), realspike, neuron)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.spike2(self.conv2(self.spike1(self.conv1(x))) + identity)


def make_stage(
    cin: int,
    cout: int,
    blocks: int,
    stride: int,
    in_hw: tuple[int, int],
    realspike: str,
    neuron: dict[str, Any],
) -> tuple[nn.Sequential, tuple[int, int]]:
    """``blocks`` basic blocks, the first with ``stride``; returns the stage and its output size."""
    layers = []
    for i in range(blocks):
        block = BasicBlock(
            cin if i == 0 else cout, cout, stride if i == 0 else 1, in_hw, realspike, neuron
        )
        layers.append(block)
        in_hw = block.out_hw
    return nn.Sequential(*layers), in_hw


def check_neuron_options(tau: object, v_th: object, detach_reset: object) -> None:
    """Refuse, before any training, the LIF settings that folding into the IR cannot express
    (:mod:`simulators.ir`: ``0 <= tau <= 1``, ``v_th > 0``)."""
    number = (int, float)
    if isinstance(tau, bool) or not isinstance(tau, number) or not 0 <= tau <= 1:
        raise OptionError(
            f"model option tau={tau!r}: the leak factor must be a number in [0, 1] "
            "(tau=0.25 keeps a quarter of the potential per step)"
        )
    if isinstance(v_th, bool) or not isinstance(v_th, number) or v_th <= 0:
        raise OptionError(f"model option v_th={v_th!r}: the threshold must be a number > 0")
    if not isinstance(detach_reset, bool):
        raise OptionError(f"model option detach_reset={detach_reset!r}: use true or false")


class SpikingNet(nn.Module):
    """Base of every zoo model: direct encoding, a body over ``[T, B, ...]``, time-averaged logits.

    ``encoder`` is the first conv + BN, the only layer that sees real values. A static image
    ``[B, C, H, W]`` is repeated over ``timesteps``; an event tensor ``[T, B, C, H, W]`` brings its
    own T. Subclasses set ``encoder`` and ``body`` (``body`` maps the encoder's output to logits
    ``[T, B, classes]``).
    """

    encoder: ConvBN
    body: nn.Module

    def __init__(
        self,
        *,
        realspike: str,
        timesteps: int,
        num_classes: int,
        in_channels: int,
        input_size: int | Sequence[int],
        tau: float,
        v_th: float,
        surrogate: str,
        detach_reset: bool,
    ) -> None:
        super().__init__()
        if timesteps < 1 or num_classes < 1 or in_channels < 1:
            raise OptionError("timesteps, num_classes and in_channels must all be >= 1")
        check_neuron_options(tau, v_th, detach_reset)
        self.realspike = check_granularity(realspike)
        self.timesteps = timesteps
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.input_hw = as_hw(input_size)
        self.neuron = {
            "tau": tau,
            "v_th": v_th,
            "surrogate": surrogate,
            "detach_reset": detach_reset,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (self.in_channels, *self.input_hw)
        if x.dim() not in (4, 5) or tuple(x.shape[-3:]) != expected:
            raise ValueError(
                f"{type(self).__name__} expects [B, {', '.join(map(str, expected))}] images or "
                f"[T, B, {', '.join(map(str, expected))}] events, got {tuple(x.shape)}"
            )
        z = self.encoder.forward_static(x, self.timesteps) if x.dim() == 4 else self.encoder(x)
        return self.body(z).mean(0)
