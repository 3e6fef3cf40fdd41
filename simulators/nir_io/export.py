"""IR → NIR: the NIR graph of an IR graph, and ``.nir`` files written from it (the mapping is in
:mod:`simulators.nir_io` and ``docs/nir.md``)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import nir
import numpy as np

from simulators.files import atomic_path
from simulators.ir import Graph, GraphError, Node, pair
from simulators.nir_io.time_step import DEFAULT_DT, check_dt

MAXPOOL_THRESHOLD = 0.5  # a window sum of binary spikes exceeds it iff one spike is present


def to_nir(graph: Graph, dt: float = DEFAULT_DT) -> nir.NIRGraph:
    """The NIR graph of an IR graph; LIF time constants are for a simulation step of ``dt``."""
    check_dt(dt)
    graph.validate()
    inlined = {n.name for n in graph if _inlinable(graph, n)}
    nodes: dict[str, nir.NIRNode] = {}
    edges: list[tuple[str, str]] = []
    sums: dict[str, list[str]] = {}
    for node in graph:
        if node.name in inlined:
            continue
        chain = _export(graph, node, dt)
        entry = next(iter(chain))
        sources: list[str] = []
        for name in node.inputs:
            if name in inlined:
                sources += graph[name].inputs
                sums[entry] = [name]
            else:
                sources.append(name)
        if len(set(sources)) < len(sources):
            raise GraphError(f"node {node.name!r}: NIR cannot sum a value with itself {sources}")
        edges += [(source, entry) for source in sources]
        edges += pairwise(chain)
        for name, nir_node in chain.items():
            if name in nodes:
                raise GraphError(f"NIR node name {name!r} (from {node.name!r}) is already used")
            nodes[name] = nir_node
    metadata = {
        "source": "rshw",
        "dt": float(dt),
        "input_encoding": graph.input.attrs.get("encoding", "static"),
        "output_reduce": graph.output.attrs.get("reduce", "mean"),
        "rshw_meta": json.dumps(graph.meta),
        "sums": json.dumps(sums),
    }
    return nir.NIRGraph(nodes, edges, metadata=metadata)


def _inlinable(graph: Graph, node: Node) -> bool:
    """An add whose sum feeds one node can be that node's incoming edges (NIR sums them)."""
    if node.op != "add":
        return False
    consumers = graph.consumers(node.name)
    return len(consumers) == 1 and consumers[0].op not in ("add", "output")


def _export(graph: Graph, node: Node, dt: float) -> dict[str, nir.NIRNode]:
    """The NIR nodes of one IR node, in data-flow order; the last one carries the node's name."""
    name, a, attrs = node.name, node.arrays, node.attrs
    in_shape = graph[node.inputs[0]].shape if node.inputs else node.shape
    if node.op == "input":
        return {name: nir.Input(np.array(node.shape))}
    if node.op == "output":
        return {name: nir.Output(np.array(node.shape))}
    if node.op == "conv":
        return {name: _conv2d(node, in_shape)}
    if node.op == "local":
        return {f"{name}.in_scale": nir.Scale(a["in_scale"]), name: _conv2d(node, in_shape)}
    if node.op == "linear":
        bias = a.get("bias")
        return {name: nir.Linear(a["weight"]) if bias is None else nir.Affine(a["weight"], bias)}
    if node.op == "avgpool":
        return {name: nir.AvgPool2d(**_window(attrs))}
    if node.op == "maxpool":
        if not graph.is_spiking(node.inputs[0]):
            raise GraphError(
                f"node {name!r} (maxpool): its input {node.inputs[0]!r} is not binary spikes; "
                "NIR has no max pool, and SumPool2d → Threshold equals it only on spikes"
            )
        threshold = np.full(node.shape, MAXPOOL_THRESHOLD)
        return {f"{name}.sum": nir.SumPool2d(**_window(attrs)), name: nir.Threshold(threshold)}
    if node.op == "scale":
        return {name: nir.Scale(np.broadcast_to(a["scale"], node.shape).copy())}
    if node.op == "add":
        return {name: nir.Scale(np.ones(node.shape))}
    if node.op == "flatten":
        return {name: nir.Flatten(np.array(in_shape), start_dim=0, end_dim=-1)}
    return {name: _lif(node, dt)}


def _conv2d(node: Node, in_shape: tuple[int, ...]) -> nir.Conv2d:
    weight = node.arrays["weight"]
    bias = node.arrays.get("bias", np.zeros(weight.shape[0], dtype=weight.dtype))
    return nir.Conv2d(
        input_shape=in_shape[1:],
        weight=weight,
        stride=pair(node.attrs.get("stride", 1)),
        padding=pair(node.attrs.get("padding", 0)),
        dilation=1,
        groups=1,
        bias=bias,
    )


def _window(attrs: dict[str, Any]) -> dict[str, np.ndarray]:
    kernel = attrs["kernel"]
    return {
        "kernel_size": np.array(pair(kernel)),
        "stride": np.array(pair(attrs.get("stride", kernel))),
        "padding": np.array(pair(attrs.get("padding", 0))),
    }


def _lif(node: Node, dt: float) -> nir.NIRNode:
    """Forward Euler, step dt: ``1 − dt/tau_m = tau`` and input gain ``dt·r/tau_m = 1``."""
    tau, v_th, shape = node.attrs["tau"], node.attrs["v_th"], node.shape
    threshold, zeros = np.full(shape, float(v_th)), np.zeros(shape)
    if tau == 1:  # no leak
        return nir.IF(r=np.full(shape, 1 / dt), v_threshold=threshold, v_reset=zeros)
    tau_m = dt / (1 - tau)
    return nir.LIF(
        tau=np.full(shape, tau_m),
        r=np.full(shape, tau_m / dt),
        v_leak=zeros,
        v_threshold=threshold,
        v_reset=zeros,
        metadata={"rshw_tau": float(tau)},
    )


def write_nir(graph: Graph, path: str | Path, dt: float = DEFAULT_DT) -> Path:
    """Write ``graph`` as a NIR (HDF5) file, atomically."""
    path = Path(path)
    nir_graph = to_nir(graph, dt)
    with atomic_path(path) as tmp:
        nir.write(tmp, nir_graph)
    return path
