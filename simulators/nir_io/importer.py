"""NIR → IR: the validated IR graph of a NIR graph or ``.nir`` file, with what is refused and
why (the mapping is in :mod:`simulators.nir_io` and ``docs/nir.md``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nir
import numpy as np
from nir.ir.utils import calc_flatten_output

from simulators.ir import Graph, GraphError
from simulators.nir_io.time_step import DEFAULT_DT, check_dt

SUPPORTED = (
    *("Input", "Output", "Conv2d", "Affine", "Linear", "Scale", "AvgPool2d", "SumPool2d"),
    *("Threshold", "Flatten", "LIF", "IF", "CubaLIF"),
)
# An input gain within this many machine epsilons (of the neuron parameters' dtype) of 1 is 1:
# it is rounding in r = tau_m / dt (a float32 file is off by an ulp or two, never by 16).
GAIN_ULPS = 16


def from_nir(
    nir_graph: nir.NIRGraph, dt: float | None = None, timesteps: int | None = None
) -> Graph:
    """The IR graph of a NIR graph simulated with step ``dt`` seconds (validated). Without
    ``dt``: the ``dt`` in the graph's metadata (rshw writes it), else :data:`DEFAULT_DT`."""
    if dt is None:
        dt = file_dt(nir_graph)
        dt = DEFAULT_DT if dt is None else dt
    check_dt(dt)
    return _Importer(nir_graph, dt, timesteps).run().validate()


def file_dt(nir_graph: nir.NIRGraph) -> float | None:
    """The simulation step a NIR graph's metadata records, if any."""
    value = (nir_graph.metadata or {}).get("dt")
    return None if value is None else float(np.asarray(value))


class _Importer:
    """Walks the NIR graph in topological order, adding IR nodes as it goes."""

    def __init__(self, nir_graph: nir.NIRGraph, dt: float, timesteps: int | None) -> None:
        self.nodes = {name: _numpy_node(node) for name, node in nir_graph.nodes.items()}
        self.dt = dt
        self.metadata = nir_graph.metadata or {}
        self.sums: dict[str, list[str]] = json.loads(self.metadata.get("sums", "{}"))
        self.graph = Graph(json.loads(self.metadata.get("rshw_meta", "{}")))
        if timesteps is not None:
            self.graph.meta["timesteps"] = int(timesteps)
        self.edges = [(str(a), str(b)) for a, b in nir_graph.edges]
        self.preds: dict[str, list[str]] = {name: [] for name in self.nodes}
        self.succs: dict[str, list[str]] = {name: [] for name in self.nodes}
        for a, b in self.edges:
            self.preds[b].append(a)
            self.succs[a].append(b)
        self.value: dict[str, str] = {}  # NIR node → the IR node that carries its output
        self.pending: dict[str, tuple[nir.NIRNode, str]] = {}  # 2nd of a pair → (1st, IR input)

    def run(self) -> Graph:
        for name in self.order():
            node = self.nodes[name]
            kind = type(node).__name__
            if kind not in SUPPORTED:
                raise GraphError(
                    f"NIR node {name!r} has unsupported type {kind}; "
                    f"supported: {', '.join(SUPPORTED)}"
                )
            getattr(self, f"_{kind.lower()}")(name, node)
        return self.graph

    def order(self) -> list[str]:
        """Inputs first, then nodes as their first incoming edge appears (the export's order)."""
        rank: dict[str, int] = {}
        for _, b in self.edges:
            rank.setdefault(b, len(rank))
        waiting = sorted(self.nodes, key=lambda n: rank.get(n, -1))
        order: dict[str, None] = {}  # insertion-ordered set
        while waiting:
            ready = next((n for n in waiting if all(p in order for p in self.preds[n])), None)
            if ready is None:
                raise GraphError(f"NIR graph has a cycle through {waiting}; rshw has no recurrence")
            waiting.remove(ready)
            order[ready] = None
        return list(order)

    def source(self, name: str, identity: bool = False) -> str:
        """The IR node holding the sum of a NIR node's incoming edges (a chain of adds)."""
        inputs = [self.value[p] for p in self.preds[name]]
        if not inputs:
            raise GraphError(f"NIR node {name!r} has no incoming edge")
        names = self.sums.get(name, [])
        if len(names) != len(inputs) - 1:
            names = [f"{name}.add{i}" for i in range(1, len(inputs))]
            if identity:
                names[-1] = name
        out = inputs[0]
        for other, add_name in zip(inputs[1:], names, strict=True):
            out = self.graph.add(add_name, "add", [out, other]).name
        return out

    def sole_consumer(self, name: str, kind: type) -> str | None:
        """The node that alone consumes ``name`` and alone feeds it, if of type ``kind``."""
        succs = self.succs[name]
        alone = len(succs) == 1 and self.preds[succs[0]] == [name]
        return succs[0] if alone and isinstance(self.nodes[succs[0]], kind) else None

    def add(
        self, name: str, op: str, source: str, attrs: dict | None = None, **arrays: Any
    ) -> None:
        self.value[name] = self.graph.add(name, op, [source], attrs=attrs, **arrays).name

    # one method per NIR type ----------------------------------------------------------------------
    def _input(self, name: str, node: nir.Input) -> None:
        shape = tuple(int(s) for s in node.input_type["input"])
        if len(shape) not in (1, 3):
            raise GraphError(
                f"NIR node {name!r} (Input): shape {shape} is neither (C, H, W) nor (F,); NIR "
                "input shapes carry no batch dimension: export with an unbatched sample input "
                "(e.g. x[0]) or drop the leading batch axis"
            )
        encoding = self.metadata.get("input_encoding", "events")
        self.value[name] = self.graph.add(
            name, "input", shape=shape, attrs={"encoding": encoding}
        ).name

    def _output(self, name: str, node: nir.Output) -> None:
        reduce = self.metadata.get("output_reduce", "mean")
        self.add(name, "output", self.source(name), {"reduce": reduce})

    def _conv2d(self, name: str, node: nir.Conv2d) -> None:
        scale_node, source = self.pending.pop(name, (None, ""))
        source = source or self.source(name)
        for param in ("dilation", "groups"):
            if np.any(np.asarray(getattr(node, param)) != 1):
                raise GraphError(f"NIR node {name!r} (Conv2d): only {param} = 1 is supported")
        attrs = {
            "stride": _ints(node.stride),
            "padding": _padding(name, node),
            "binary_input": self.graph.is_spiking(source),
        }
        arrays = {"weight": node.weight, "bias": _bias(node)}
        if scale_node is None:
            self.add(name, "conv", source, attrs, **arrays)
        else:
            in_scale = np.broadcast_to(scale_node.scale, self.graph[source].shape).copy()
            self.add(name, "local", source, attrs, in_scale=in_scale, **arrays)

    def _linear(self, name: str, node: nir.Linear | nir.Affine) -> None:
        source = self.source(name)
        if node.weight.ndim != 2:
            raise GraphError(f"NIR node {name!r}: weight must be 2-D, got {node.weight.shape}")
        attrs = {"binary_input": self.graph.is_spiking(source)}
        self.add(name, "linear", source, attrs, weight=node.weight, bias=_bias(node))

    _affine = _linear

    def _scale(self, name: str, node: nir.Scale) -> None:
        """Per-position and alone feeding a Conv2d: a factored ``local``. Ones: an identity."""
        identity = bool(np.all(node.scale == 1))
        source = self.source(name, identity=identity)
        scale = _compact(node.scale)
        conv = self.sole_consumer(name, nir.Conv2d)
        if conv is not None and scale.ndim == 3 and scale.shape[1:] != (1, 1):
            self.pending[conv] = (node, source)
        elif identity:
            self.value[name] = source
        else:
            self.add(name, "scale", source, scale=scale)

    def _avgpool2d(self, name: str, node: nir.AvgPool2d) -> None:
        self.add(name, "avgpool", self.source(name), _window_attrs(node))

    def _sumpool2d(self, name: str, node: nir.SumPool2d) -> None:
        source = self.source(name)
        threshold = self.sole_consumer(name, nir.Threshold)
        if threshold is None or not self.graph.is_spiking(source):
            raise GraphError(_MAXPOOL_ONLY.format(name=name, kind="SumPool2d"))
        self.pending[threshold] = (node, source)

    def _threshold(self, name: str, node: nir.Threshold) -> None:
        pool, source = self.pending.pop(name, (None, ""))
        if pool is None or not np.all((node.threshold >= 0) & (node.threshold < 1)):
            raise GraphError(_MAXPOOL_ONLY.format(name=name, kind="Threshold"))
        self.add(name, "maxpool", source, _window_attrs(pool))

    def _flatten(self, name: str, node: nir.Flatten) -> None:
        source = self.source(name)
        shape = self.graph[source].shape
        if len(calc_flatten_output(shape, int(node.start_dim), int(node.end_dim))) != 1:
            raise GraphError(
                f"NIR node {name!r} (Flatten): start_dim={node.start_dim}, end_dim={node.end_dim} "
                f"keeps several dimensions of {shape}; only a full flatten (0, -1) is supported "
                "(NIR shapes have no batch dimension)"
            )
        self.add(name, "flatten", source)

    def _lif(self, name: str, node: nir.LIF) -> None:
        _zero(name, node, "v_leak")
        tau_m = _uniform(name, node, "tau")
        hint = node.metadata.get("rshw_tau") if node.metadata else None
        exact = hint is not None and float(hint) != 1 and self.dt / (1 - float(hint)) == tau_m
        tau = float(hint) if exact else 1 - self.dt / tau_m
        self._neuron(name, node, tau, self.dt * _uniform(name, node, "r") / tau_m)

    def _if(self, name: str, node: nir.IF) -> None:
        self._neuron(name, node, 1.0, self.dt * _uniform(name, node, "r"))

    def _cubalif(self, name: str, node: nir.CubaLIF) -> None:
        tau_syn = _uniform(name, node, "tau_syn")
        if tau_syn != self.dt:
            raise GraphError(
                f"NIR node {name!r} (CubaLIF): tau_syn = {tau_syn} low-pass filters the input "
                f"current; only tau_syn = dt = {self.dt} (the current then decays completely "
                "each step) reduces to rshw's LIF"
            )
        _zero(name, node, "v_leak")
        tau_m = _uniform(name, node, "tau_mem")
        gain = _uniform(name, node, "w_in") * self.dt * _uniform(name, node, "r") / tau_m
        self._neuron(name, node, 1 - self.dt / tau_m, gain)

    def _neuron(self, name: str, node: nir.NIRNode, tau: float, gain: float) -> None:
        """``u = tau·u·(1 − o) + gain·x`` with threshold and hard reset to 0."""
        _zero(name, node, "v_reset")
        if not 0 <= tau <= 1:
            raise GraphError(
                f"NIR node {name!r} ({type(node).__name__}): the membrane time constant must be "
                f">= dt = {self.dt} s for a stable forward-Euler step (decay {tau:.4g}); the file "
                "was probably written with a smaller dt (snnTorch and SpikingJelly export with "
                "1e-4): pass the exporter's dt (rshw simulate --dt, read_nir(path, dt=...))"
            )
        source = self.source(name)
        if abs(gain - 1) > GAIN_ULPS * _epsilon(node):
            ndim = len(self.graph[source].shape)
            self.add(f"{name}.gain", "scale", source, scale=np.full((1,) * ndim, gain))
            source = f"{name}.gain"
        v_th = _uniform(name, node, "v_threshold")
        self.add(name, "lif", source, {"tau": tau, "v_th": v_th, "reset": "zero"})


_MAXPOOL_ONLY = (
    "NIR node {name!r} ({kind}): SumPool2d and Threshold are supported only as the pair "
    "SumPool2d → Threshold (0 <= threshold < 1) on binary spikes, which is a max pool"
)


def _numpy_node(node: nir.NIRNode) -> nir.NIRNode:
    """A shallow copy of ``node`` whose array-like fields (torch tensors of an in-memory export,
    lists) are numpy arrays; rshw reads parameters only through numpy."""
    copy = object.__new__(type(node))
    for key, value in vars(node).items():
        if hasattr(value, "detach"):  # a tensor: leave autograd, move to the host
            value = value.detach().cpu()
        if hasattr(value, "__array__") or isinstance(value, (list, tuple)):
            try:
                value = np.asarray(value)
            except (TypeError, ValueError):
                pass  # ragged: not a parameter array
        setattr(copy, key, value)
    return copy


def _epsilon(node: nir.NIRNode) -> float:
    """Machine epsilon of a neuron's least precise floating-point parameter (float64's if it
    has none)."""
    return max(
        (
            float(np.finfo(value.dtype).eps)
            for value in vars(node).values()
            if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)
        ),
        default=float(np.finfo(np.float64).eps),
    )


def _uniform(name: str, node: nir.NIRNode, param: str) -> float:
    """A per-neuron NIR parameter as one number: rshw's LIF layers share their parameters."""
    values = np.asarray(getattr(node, param), dtype=np.float64)
    if values.size == 0 or np.any(values != values.flat[0]):
        raise GraphError(
            f"NIR node {name!r} ({type(node).__name__}): parameter {param!r} must be the same "
            "for every neuron"
        )
    return float(values.flat[0])


def _zero(name: str, node: nir.NIRNode, param: str) -> None:
    if _uniform(name, node, param) != 0:
        raise GraphError(
            f"NIR node {name!r} ({type(node).__name__}): only {param} = 0 is supported "
            f"(rshw's LIF leaks towards and resets to 0), got {_uniform(name, node, param)}"
        )


def _ints(value: Any) -> list[int]:
    return [int(v) for v in np.broadcast_to(np.asarray(value), (2,))]


def _padding(name: str, node: nir.Conv2d) -> list[int]:
    if isinstance(node.padding, str):
        kernel = np.array(node.weight.shape[2:])
        if node.padding == "valid":
            return [0, 0]
        if np.any(np.asarray(node.stride) != 1) or np.any(kernel % 2 == 0):
            raise GraphError(f"NIR node {name!r}: padding 'same' needs stride 1 and odd kernels")
        return [int(k) // 2 for k in kernel]
    return _ints(node.padding)


def _window_attrs(node: nir.AvgPool2d | nir.SumPool2d) -> dict[str, list[int]]:
    return {
        "kernel": _ints(node.kernel_size),
        "stride": _ints(node.stride),
        "padding": _ints(node.padding),
    }


def _bias(node: nir.NIRNode) -> np.ndarray | None:
    """The bias, or None where it is all zeros (what export writes for a node without one)."""
    bias = getattr(node, "bias", None)
    return None if bias is None or not np.any(bias) else bias


def _compact(array: np.ndarray) -> np.ndarray:
    """The smallest array that broadcasts back to ``array``: constant axes shrink to length 1."""
    array = np.asarray(array)
    for axis in range(array.ndim):
        first = np.take(array, [0], axis=axis)
        if np.array_equal(array, np.broadcast_to(first, array.shape)):
            array = first
    return array


def read_nir(path: str | Path, dt: float | None = None, timesteps: int | None = None) -> Graph:
    """Read a NIR file into a validated IR graph (see :func:`from_nir`)."""
    path = Path(path)
    if not path.is_file():
        raise GraphError(f"no NIR file at {path}")
    try:
        nir_graph = nir.read(path)
    except (OSError, KeyError, ValueError, TypeError, AssertionError) as e:
        detail = str(e) or f"a node type or field that nir {nir.__version__} does not know"
        raise GraphError(
            f"{path} is not a readable NIR file ({type(e).__name__}: {detail})"
        ) from None
    return from_nir(nir_graph, dt, timesteps)
