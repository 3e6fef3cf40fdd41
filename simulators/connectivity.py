"""Exact connectivity of weighted IR layers: fan-out of every input neuron, synapse counts.

Borders, padding and strides are respected: an input neuron near the edge of a strided conv
reaches fewer outputs than one in the middle. Unshared (``local``) layers connect exactly like a
conv of the same geometry; only their weights differ.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from simulators.ir import Graph, Node, pair


@lru_cache(maxsize=256)
def _spatial_fan_out(
    in_hw: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    out_hw: tuple[int, int],
) -> np.ndarray:
    """How many output positions' windows cover each input position ``[H, W]``."""
    counts = np.zeros((in_hw[0] + 2 * padding[0], in_hw[1] + 2 * padding[1]), np.int64)
    ys = np.arange(out_hw[0]) * stride[0]
    xs = np.arange(out_hw[1]) * stride[1]
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            counts[np.ix_(ys + i, xs + j)] += 1
    return counts[padding[0] : padding[0] + in_hw[0], padding[1] : padding[1] + in_hw[1]]


def fan_out(graph: Graph, node: Node) -> np.ndarray:
    """Synapses leaving each neuron of the node's input, shaped like that input."""
    in_shape = graph[node.inputs[0]].shape
    if node.op == "linear":
        return np.full(in_shape, node.shape[0], np.int64)
    if node.op in ("conv", "local"):
        weight = node.arrays["weight"]
        spatial = _spatial_fan_out(
            tuple(in_shape[1:]),
            tuple(weight.shape[2:]),
            pair(node.attrs.get("stride", 1)),
            pair(node.attrs.get("padding", 0)),
            tuple(node.shape[1:]),
        )
        return np.broadcast_to(spatial * weight.shape[0], in_shape)
    raise ValueError(f"node {node.name!r} ({node.op}) has no synapses")


def synapses(graph: Graph, node: Node) -> int:
    """Connections of a weighted layer (one MAC each when its input is dense)."""
    return int(fan_out(graph, node).sum())


def padded_synapses(graph: Graph, node: Node) -> int:
    """Synapses as if zero padding were real inputs: ``Cin·kh·kw·Cout·Ho·Wo`` (syops' count)."""
    if node.op == "linear":
        return int(node.arrays["weight"].size)
    if node.op in ("conv", "local"):
        return int(node.arrays["weight"].size * np.prod(node.shape[1:]))
    raise ValueError(f"node {node.name!r} ({node.op}) has no synapses")
