"""Which layer does what, and which rows it waits for.

Weighted layers are the units of the chip. Every other node (LIF, residual add, scale, pooling,
flatten) runs in the digital units of a *host* layer: the layer upstream along its first input.
Data crosses between hosts as spike (or partial-sum) packets, one packet per output row of the
sending layer and time step. Row requirements are prefix counts: "to finish its first ``r`` rows,
layer L needs the first ``need[r-1]`` rows of host H". Two kinds:

- ``compute``: a layer's crossbars need the rows of their input (through the host's digital ops:
  LIF, pooling, flatten);
- ``output``: the digital ops hosted by a layer need other hosts' rows (the second input of a
  residual add: a shortcut conv or scaled spikes of an earlier block).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from simulators.ir import WEIGHTED_OPS, Graph, GraphError, Node, pair

INPUT = "input"
WINDOW_OPS = ("conv", "local", "avgpool", "maxpool")


def hosts(graph: Graph) -> dict[str, str]:
    """The weighted layer (or ``"input"``) whose units run each node."""
    host: dict[str, str] = {}
    for node in graph:
        if node.op in WEIGHTED_OPS:
            host[node.name] = node.name
        elif node.op == "input":
            host[node.name] = INPUT
        else:
            host[node.name] = host[node.inputs[0]]
    return host


def row_count(shape: tuple[int, ...]) -> int:
    return shape[1] if len(shape) == 3 else 1


def _window(node: Node) -> tuple[int, int, int]:
    """Vertical kernel, stride and padding of a conv or pooling node."""
    if "weight" in node.arrays:
        kernel, default_stride = node.arrays["weight"].shape[2], 1
    else:
        kernel = default_stride = pair(node.attrs["kernel"])[0]
    stride = pair(node.attrs.get("stride", default_stride))[0]
    return kernel, stride, pair(node.attrs.get("padding", 0))[0]


def need(graph: Graph, node: Node, rows: int, index: int = 0) -> int:
    """Rows of input ``index`` that the first ``rows`` output rows of ``node`` depend on."""
    in_shape = graph[node.inputs[index]].shape
    in_rows = row_count(in_shape)
    if rows <= 0:
        return 0
    if len(node.shape) == 1:
        return in_rows
    if node.op in WINDOW_OPS:
        k, s, p = _window(node)
        return int(np.clip((rows - 1) * s - p + k, 0, in_rows))
    return rows


def complete(graph: Graph, node: Node, in_rows: int) -> int:
    """Output rows of ``node`` that are complete once the first ``in_rows`` input rows exist."""
    total_in = row_count(graph[node.inputs[0]].shape)
    out_rows = row_count(node.shape)
    if in_rows >= total_in:
        return out_rows
    if len(node.shape) == 1:
        return 0
    if node.op in WINDOW_OPS:
        k, s, p = _window(node)
        return int(np.clip((in_rows + p - k) // s + 1, 0, out_rows))
    return in_rows


def _back(graph: Graph, name: str, rows: int, host: dict[str, str]) -> tuple[str, int]:
    """Follow first inputs from ``name`` back to its host layer: (host, rows of the host needed)."""
    node = graph[name]
    while node.op not in WEIGHTED_OPS and node.op != "input":
        rows = need(graph, node, rows)
        node = graph[node.inputs[0]]
    return host[node.name], rows


@dataclass(frozen=True)
class Requirement:
    """Layer ``layer``'s ``stage`` for its first r rows needs ``prefix[r-1]`` rows of ``source``."""

    layer: str
    stage: str
    source: str
    prefix: np.ndarray


@dataclass(frozen=True)
class Stream:
    """Rows sent from host ``source`` to host ``target``: bits in each source row's packet;
    ``compute``: whether the target's crossbars read them (else only its output stage does,
    the second input of a residual add)."""

    source: str
    target: str
    bits_per_row: np.ndarray
    compute: bool = True


def _chain_to(graph: Graph, node: str, host: dict[str, str]) -> list[Node]:
    """Nodes from just after the host layer up to ``node`` along first inputs."""
    chain = []
    current = graph[node]
    while current.op not in WEIGHTED_OPS:
        chain.append(current)
        current = graph[current.inputs[0]]
    return chain[::-1]


def _complete_along(graph: Graph, chain: list[Node], rows: int) -> int:
    for node in chain:
        rows = complete(graph, node, rows)
    return rows


def requirements(graph: Graph) -> list[Requirement]:
    """Every cross-host row dependency of every weighted layer."""
    host = hosts(graph)
    found = []
    for layer in graph:
        if layer.op not in WEIGHTED_OPS:
            continue
        own_rows = np.arange(1, row_count(layer.shape) + 1)
        source, _ = _back(graph, layer.inputs[0], 1, host)
        if source != INPUT:
            prefix = [
                _back(graph, layer.inputs[0], need(graph, layer, r), host)[1] for r in own_rows
            ]
            found.append(Requirement(layer.name, "compute", source, np.array(prefix)))
        for node in graph:
            if host[node.name] != layer.name or node is layer:
                continue
            chain = _chain_to(graph, node.name, host)
            for index, name in enumerate(node.inputs[1:], start=1):
                source, _ = _back(graph, name, 1, host)
                if source in (INPUT, layer.name):
                    continue
                rows_here = [_complete_along(graph, chain, r) for r in own_rows]
                prefix = [
                    _back(graph, name, need(graph, node, r, index), host)[1] for r in rows_here
                ]
                found.append(Requirement(layer.name, "output", source, np.array(prefix)))
    return found


def layer_order(layers: Iterable[str], needs: list[Requirement]) -> list[str]:
    """Layers ordered so that each follows every layer it waits for (a residual add may wait for
    a shortcut conv that comes later in the graph). Layers that wait for each other in a cycle
    would deadlock any chip: refused, naming them."""
    waits = {name: set() for name in layers}
    for r in needs:
        waits[r.layer].add(r.source)
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(waits):
        ready = [n for n, w in waits.items() if n not in placed and w <= placed]
        if not ready:
            stuck = "; ".join(
                f"{n} waits for {', '.join(sorted(w - placed))}"
                for n, w in waits.items()
                if n not in placed
            )
            raise GraphError(
                f"the layers wait for each other in a cycle, which no chip can run: {stuck}. "
                "Every node runs on the layer of its first input, so a sum whose first input "
                "is made early waits on the layer that makes a later one: list the term made "
                "last first"
            )
        order += ready
        placed.update(ready)
    return order


def _bits_per_neuron(graph: Graph, name: str, psum_bits: int) -> int:
    node = graph[name]
    spikes = graph.is_spiking(name) or (
        node.op == "scale" and graph.is_spiking(node.inputs[0])
    )  # a scale of spikes travels as spikes and is applied where it is added
    return 1 if spikes else psum_bits


def streams(graph: Graph, psum_bits: int) -> list[Stream]:
    """Packets between hosts: for each source layer row, the bits of the nodes it completes."""
    host = hosts(graph)
    bits: dict[tuple[str, str], np.ndarray] = {}
    compute: dict[tuple[str, str], bool] = {}
    sent_to: set[tuple[str, str]] = set()
    for node in graph:
        for index, name in enumerate(node.inputs):
            source, target = host[name], host[node.name]
            if source in (INPUT, target) or (name, target) in sent_to:
                continue
            sent_to.add((name, target))
            sent = graph[name]
            chain = _chain_to(graph, name, host) if sent.op not in WEIGHTED_OPS else []
            done = np.array(
                [
                    _complete_along(graph, chain, r)
                    for r in range(row_count(graph[source].shape) + 1)
                ]
            )
            row_neurons = int(np.prod(sent.shape)) // row_count(sent.shape)
            per_row = np.diff(done) * row_neurons * _bits_per_neuron(graph, name, psum_bits)
            key = (source, target)
            bits[key] = bits.get(key, 0) + per_row
            read = node.op in WEIGHTED_OPS and index == 0
            compute[key] = compute.get(key, False) or read
    return [Stream(s, t, b, compute[s, t]) for (s, t), b in bits.items()]
