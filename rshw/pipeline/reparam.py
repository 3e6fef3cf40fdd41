"""Re-parameterization: a trained Real Spike model → a binary-spike IR graph (``simulators.ir``).

Folds eval-mode BatchNorm into the conv before it, and each Real Spike ``a`` into the layers that
consume ``a ⊙ o``:

- layer- and channel-wise ``a`` scale the consumer's input channels: kernels stay shared;
- element-wise ``a`` turns a consumer conv into a ``local`` (unshared) layer, stored factored;
- an identity shortcut carrying ``a ⊙ o`` becomes an explicit ``scale`` node on binary spikes;
- a shared ``a`` commutes with average pooling; an element-wise ``a`` cannot, so the pooling is
  folded into the consumer instead (a 2×2 pool then a k×k conv is a 2k×2k conv of stride 2 on the
  binary spikes; a global pool then a linear layer is a linear layer over C·H·W);
- where a pool cannot be folded (a residual block after it), it is computed explicitly: a
  ``scale`` of the spikes then an ``avgpool``, exact but no longer binary for the consumers;
- max pooling acts on the binary spikes before Real Spike (see ``SpikeAct``), so it stays a
  binary OR and a max-pool of ``a ⊙ o``, which would not fold for ``a ≤ 0``, never arises.

Arithmetic is done in float64 and stored in the requested dtype. Nodes are named after the torch
modules they come from, so a LIF node and the LIF module it replaces share a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rshw.models.blocks import AvgPool, BasicBlock, ConvBN, Flatten, SpikeAct, SpikingNet
from simulators.ir import Graph, GraphError


@dataclass
class _Value:
    """A value flowing between modules: ``scale ⊙ pool(node)`` with both parts still unfolded.

    ``scale`` broadcasts to the node's shape (None: 1); ``pool`` is a pending average pool
    window ``(kh, kw)`` over the node's output (None: no pool).
    """

    node: str
    scale: np.ndarray | None = None
    pool: tuple[int, int] | None = None


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _is_shared(scale: np.ndarray | None) -> bool:
    """Whether a scale is the same at every position of a channel (layer- or channel-wise)."""
    return scale is None or all(s == 1 for s in scale.shape[1:])


def _channel_vector(scale: np.ndarray | None, channels: int) -> np.ndarray:
    if scale is None:
        return np.ones(channels)
    return np.broadcast_to(scale.reshape(scale.shape[0], -1)[:, 0], (channels,)).copy()


class _Lowering:
    def __init__(self, model: SpikingNet, dtype) -> None:
        self.model, self.dtype = model, np.dtype(dtype)
        self.graph = Graph(
            {
                "model": dict(getattr(model, "config", {"name": type(model).__name__})),
                "realspike": model.realspike,
                "timesteps": model.timesteps,
                "dtype": self.dtype.name,
            }
        )

    def cast(self, array: np.ndarray | None) -> np.ndarray | None:
        return None if array is None else np.ascontiguousarray(array, dtype=self.dtype)

    def shape(self, value: _Value) -> tuple[int, ...]:
        return self.graph[value.node].shape

    def binary(self, value: _Value) -> bool:
        return self.graph.is_spiking(value.node)

    # consumers that fold pending scales and pools ---------------------------------------------
    def conv_bn(self, name: str, m: ConvBN, value: _Value) -> _Value:
        conv, bn = m.conv, m.bn
        if conv.groups != 1 or conv.dilation != (1, 1) or conv.padding_mode != "zeros":
            raise GraphError(
                f"{name}: only plain convolutions (groups=1, no dilation) are supported"
            )
        gain = _np(bn.weight if bn.affine else torch.ones_like(bn.running_var)) / np.sqrt(
            _np(bn.running_var) + bn.eps
        )
        weight = _np(conv.weight) * gain[:, None, None, None]
        bias = (_np(bn.bias) if bn.affine else 0) - _np(bn.running_mean) * gain
        if conv.bias is not None:
            bias = bias + _np(conv.bias) * gain
        stride, padding = list(conv.stride), list(conv.padding)
        if value.pool is not None:
            weight, stride, padding = self._fold_pool_into_conv(
                name, value, weight, stride, padding
            )
        cin = weight.shape[1]
        attrs = {"stride": stride, "padding": padding, "binary_input": self.binary(value)}
        if _is_shared(value.scale):
            weight = weight * _channel_vector(value.scale, cin)[None, :, None, None]
            self.graph.add(
                name,
                "conv",
                [value.node],
                attrs=attrs,
                weight=self.cast(weight),
                bias=self.cast(bias),
            )
        else:
            in_scale = np.broadcast_to(value.scale, self.shape(value))
            self.graph.add(
                name,
                "local",
                [value.node],
                attrs=attrs,
                weight=self.cast(weight),
                in_scale=self.cast(in_scale),
                bias=self.cast(bias),
            )
        return _Value(name)

    def _fold_pool_into_conv(self, name, value, weight, stride, padding):
        (kh, kw), (_, h, w) = value.pool, self.shape(value)
        if h % kh or w % kw:
            raise GraphError(
                f"{name}: cannot fold a {kh}×{kw} average pool of a {h}×{w} map "
                "(size not divisible by the window) into this conv"
            )
        co, ci, ih, iw = weight.shape
        expanded = np.repeat(np.repeat(weight, kh, axis=2), kw, axis=3) / (kh * kw)
        assert expanded.shape == (co, ci, ih * kh, iw * kw)
        return expanded, [stride[0] * kh, stride[1] * kw], [padding[0] * kh, padding[1] * kw]

    def linear(self, name: str, m: nn.Linear, value: _Value) -> _Value:
        weight = _np(m.weight)
        bias = None if m.bias is None else _np(m.bias)
        shape, node = self.shape(value), value.node
        if value.pool is not None:  # global average pool (element-wise a): linear over C·H·W
            c, h, w = shape
            weight = np.repeat(weight, h * w, axis=1) / (h * w)
            node = self.graph.add(f"{name}.flatten", "flatten", [node]).name
            shape = (c * h * w,)
        if value.scale is not None:
            weight = weight * np.broadcast_to(value.scale, self.shape(value)).reshape(-1)[None, :]
        self.graph.add(
            name,
            "linear",
            [node],
            attrs={"binary_input": self.graph.is_spiking(node)},
            weight=self.cast(weight),
            bias=self.cast(bias),
        )
        return _Value(name)

    # modules that pass values on --------------------------------------------------------------
    def spike_act(self, name: str, m: SpikeAct, value: _Value) -> _Value:
        value = self.materialize(name, value)
        lif = m.lif
        out = self.graph.add(
            f"{name}.lif",
            "lif",
            [value.node],
            attrs={"tau": lif.tau, "v_th": lif.v_th, "reset": "zero"},
        ).name
        if m.pool is not None:
            k, s, p = m.pool.kernel_size, m.pool.stride, m.pool.padding
            out = self.graph.add(
                f"{name}.maxpool", "maxpool", [out], attrs={"kernel": k, "stride": s, "padding": p}
            ).name
        scale = m.realspike.scale()  # 0-d (layer), [C, 1, 1] or [C] (channel), full (element)
        if scale is None:
            return _Value(out)
        scale = _np(scale)
        return _Value(
            out, scale.reshape((1,) * len(self.graph[out].shape)) if scale.ndim == 0 else scale
        )

    def avg_pool(self, name: str, m: AvgPool, value: _Value) -> _Value:
        _, h, w = self.shape(value)
        if value.pool is not None:  # a pending pool: pool the pooled map = one bigger window
            (ph, pw) = value.pool
            if h % ph or w % pw:
                raise GraphError(f"{name}: cannot merge a {ph}×{pw} pool of a {h}×{w} map")
            window = (h, w) if m.kernel is None else (ph * m.kernel, pw * m.kernel)
            return _Value(value.node, value.scale, window)
        window = (h, w) if m.kernel is None else (m.kernel, m.kernel)
        if not _is_shared(value.scale):
            return _Value(value.node, value.scale, window)  # folded into the consumer
        out = self.graph.add(
            name,
            "avgpool",
            [value.node],
            attrs={"kernel": list(window), "stride": list(window), "padding": 0},
        )
        scale = value.scale
        if m.kernel is None:
            out = self.graph.add(f"{name}.flatten", "flatten", [out.name])
            scale = None if scale is None else scale.reshape(-1)
        return _Value(out.name, scale)

    def flatten(self, name: str, value: _Value) -> _Value:
        value = self.materialize(name, value)
        out = self.graph.add(name, "flatten", [value.node]).name
        scale = value.scale
        if scale is not None:
            scale = np.broadcast_to(scale, self.shape(value)).reshape(-1)
        return _Value(out, scale)

    def basic_block(self, name: str, m: BasicBlock, value: _Value) -> _Value:
        value = self.materialize(name, value)
        h = self.conv_bn(f"{name}.conv1", m.conv1, value)
        h = self.spike_act(f"{name}.spike1", m.spike1, h)
        h = self.conv_bn(f"{name}.conv2", m.conv2, h)
        if m.shortcut is not None:
            shortcut = self.conv_bn(f"{name}.shortcut", m.shortcut, value).node
        elif value.scale is not None:
            shortcut = self.graph.add(
                f"{name}.scale", "scale", [value.node], scale=self.cast(value.scale)
            ).name
        else:
            shortcut = value.node
        added = self.graph.add(f"{name}.add", "add", [h.node, shortcut]).name
        return self.spike_act(f"{name}.spike2", m.spike2, _Value(added))

    def materialize(self, name: str, value: _Value) -> _Value:
        """Where a module cannot absorb a pending pool (a residual block: its identity path needs
        the pooled value itself), compute it explicitly: ``scale`` of the binary spikes, then
        ``avgpool``. Exact, but the consumers then receive real values (MACs)."""
        if value.pool is None:
            return value
        node = value.node
        if value.scale is not None:
            node = self.graph.add(
                f"{name}.realspike", "scale", [node], scale=self.cast(value.scale)
            ).name
        window = list(value.pool)
        pooled = self.graph.add(
            f"{name}.avgpool",
            "avgpool",
            [node],
            attrs={"kernel": window, "stride": window, "padding": 0},
        )
        return _Value(pooled.name)

    # traversal --------------------------------------------------------------------------------
    def module(self, name: str, m: nn.Module, value: _Value) -> _Value:
        if isinstance(m, nn.Sequential):
            for child_name, child in m.named_children():
                value = self.module(f"{name}.{child_name}", child, value)
            return value
        handlers = {
            ConvBN: self.conv_bn,
            nn.Linear: self.linear,
            SpikeAct: self.spike_act,
            AvgPool: self.avg_pool,
            BasicBlock: self.basic_block,
        }
        for cls, handler in handlers.items():
            if isinstance(m, cls):
                return handler(name, m, value)
        if isinstance(m, Flatten):
            return self.flatten(name, value)
        if isinstance(m, nn.Identity):
            return value
        raise GraphError(f"{name}: no re-parameterization rule for {type(m).__name__}")

    def run(self) -> Graph:
        m = self.model
        self.graph.add(
            "input", "input", shape=(m.in_channels, *m.input_hw), attrs={"encoding": "static"}
        )
        value = self.conv_bn("encoder", m.encoder, _Value("input"))
        value = self.module("body", m.body, value)
        if value.scale is not None or value.pool is not None:
            raise GraphError("the network ends in Real Spike output; nothing can absorb its scale")
        self.graph.add("output", "output", [value.node], attrs={"reduce": "mean"})
        return self.graph.validate()


def reparameterize(model: nn.Module, dtype: Any = np.float32) -> Graph:
    """The binary-spike IR graph of a zoo model, in eval mode (BN running statistics)."""
    if not isinstance(model, SpikingNet):
        raise TypeError(f"expected a zoo model (SpikingNet), got {type(model).__name__}")
    return _Lowering(model, dtype).run()
