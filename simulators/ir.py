"""The hardware IR: a binary-spike network as a topologically ordered graph of nodes.

This is the only thing hardware models see. Every node holds its op, the names of its inputs, its
output shape per sample and time step (``(C, H, W)`` or ``(F,)``), JSON attributes and numpy
arrays. Ops and what they hold:

==========  ===========================================  =====================================
op          attrs                                        arrays
==========  ===========================================  =====================================
input       encoding: "static" | "events"                —
conv        stride, padding, binary_input                weight [Co, Ci, kh, kw], bias [Co]?
local       stride, padding, binary_input                weight [Co, Ci, kh, kw], in_scale
                                                         [Ci, Hi, Wi], bias [Co]?
linear      binary_input                                 weight [Fo, Fi], bias [Fo]?
avgpool     kernel, stride, padding                      —
maxpool     kernel, stride, padding                      —
add         —                                            —
scale       —                                            scale (broadcasts to the input shape)
lif         tau, v_th, reset ("zero")                    —
flatten     —                                            —
output      reduce: "mean" (over time)                   —
==========  ===========================================  =====================================

A ``local`` node is an unshared (locally connected) convolution stored factored: output position
``p`` uses the kernel ``K_p[o, c, i, j] = in_scale[c, p·s + (i, j) − pad] · weight[o, c, i, j]``.
Element-wise Real Spike ResNet19 would need about 2.28 G such weights (9 GB in fp32); the factored
form stores 12.7 M and :func:`materialize_local` expands one layer on demand.

``binary_input`` claims that a node's input carries binary spikes; :meth:`Graph.validate` checks
every claim. ``graph.meta["static_input"]`` records how layers whose input does not change over
time (direct encoding: the stem fed by a static image, before the first LIF) are computed:
``"once"`` per inference, their output held for every step (the default when absent), or
``"every_step"``; :func:`computed_once` names them and every hardware model follows it.

Files: one ``.npz`` holding a JSON header (format, version, nodes, metadata) and every
array, loaded without pickle.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulators.files import atomic_write_bytes

FORMAT = "rshw-ir"
FORMAT_VERSION = 1

OPS = (
    "input",
    "conv",
    "local",
    "linear",
    "avgpool",
    "maxpool",
    "add",
    "scale",
    "lif",
    "flatten",
    "output",
)
WEIGHTED_OPS = ("conv", "local", "linear")
WINDOW_ATTRS = ("kernel", "stride", "padding")
STATIC_INPUT = ("once", "every_step")
_INPUT_COUNT = {"input": 0, "add": 2}


class GraphError(ValueError):
    """An IR graph or file is inconsistent; the message names the node and the problem."""


@dataclass
class Node:
    name: str
    op: str
    inputs: tuple[str, ...]
    shape: tuple[int, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inputs = tuple(self.inputs)
        self.shape = tuple(int(s) for s in self.shape)

    @property
    def weight_count(self) -> int:
        """Distinct weights stored in hardware: unshared layers count one kernel per position."""
        if self.op == "local":
            return int(self.arrays["weight"].size * np.prod(self.shape[1:]))
        if self.op in ("conv", "linear"):
            return int(self.arrays["weight"].size)
        return 0


def pair(value: Any) -> tuple[int, int]:
    """``k`` or ``(kh, kw)`` as ``(kh, kw)``."""
    """``k`` or ``(kh, kw)`` as ``(kh, kw)``."""
    if isinstance(value, int):
        return (value, value)
    a, b = value
    return (int(a), int(b))


def window_out(size: Iterable[int], kernel: Any, stride: Any, padding: Any) -> tuple[int, int]:
    """Output height and width of a convolution or pooling window."""
    (h, w), (kh, kw), (sh, sw), (ph, pw) = size, pair(kernel), pair(stride), pair(padding)
    return ((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)


class Graph:
    """Nodes in topological order (each node's inputs are added before it) plus metadata."""

    def __init__(self, meta: dict[str, Any] | None = None) -> None:
        self.nodes: dict[str, Node] = {}
        self.meta: dict[str, Any] = dict(meta or {})

    # construction ---------------------------------------------------------------------------
    def add(
        self,
        name: str,
        op: str,
        inputs: Iterable[str] = (),
        shape: Iterable[int] | None = None,
        attrs: dict[str, Any] | None = None,
        **arrays: np.ndarray,
    ) -> Node:
        """Append a node; its shape is inferred from its inputs when not given."""
        if name in self.nodes:
            raise GraphError(f"node {name!r} already exists")
        attrs = dict(attrs or {})
        for key in WINDOW_ATTRS:  # one form, so equal graphs have equal fingerprints
            if key in attrs:
                attrs[key] = list(pair(attrs[key]))
        node = Node(
            name,
            op,
            tuple(inputs),
            (),
            attrs,
            {k: np.asarray(v) for k, v in arrays.items() if v is not None},
        )
        self._check_node(node, check_shape=False)
        node.shape = tuple(shape) if shape is not None else infer_shape(node, self)
        self.nodes[name] = node
        return node

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise GraphError(f"no node named {name!r}") from None

    @property
    def input(self) -> Node:
        return next(n for n in self if n.op == "input")

    @property
    def output(self) -> Node:
        return next(n for n in self if n.op == "output")

    def consumers(self, name: str) -> list[Node]:
        return [n for n in self if name in n.inputs]

    def is_spiking(self, name: str) -> bool:
        """Whether a node's output is binary spikes (a LIF, or a max-pool/flatten of spikes)."""
        node = self[name]
        if node.op == "lif":
            return True
        if node.op in ("maxpool", "flatten"):
            return self.is_spiking(node.inputs[0])
        return False

    def spike_edges(self) -> list[str]:
        """Names of the nodes whose outputs carry binary spikes to at least one consumer."""
        return [n.name for n in self if self.is_spiking(n.name) and self.consumers(n.name)]

    # checking -------------------------------------------------------------------------------
    def _check_node(self, node: Node, check_shape: bool = True) -> None:
        where = f"node {node.name!r} ({node.op})"
        if node.op not in OPS:
            raise GraphError(f"{where}: unknown op; known ops: {', '.join(OPS)}")
        expected = _INPUT_COUNT.get(node.op, 1)
        if len(node.inputs) != expected:
            raise GraphError(f"{where}: takes {expected} input(s), got {list(node.inputs)}")
        for name in node.inputs:
            if name not in self.nodes:
                raise GraphError(f"{where}: input {name!r} is not defined before it")
        required = {
            "conv": ("weight",),
            "local": ("weight", "in_scale"),
            "linear": ("weight",),
            "scale": ("scale",),
        }.get(node.op, ())
        for key in required:
            if key not in node.arrays:
                raise GraphError(f"{where}: missing array {key!r}")
        if node.op == "lif":
            tau, v_th = node.attrs.get("tau"), node.attrs.get("v_th")
            if not isinstance(tau, (int, float)) or not 0 <= tau <= 1:
                raise GraphError(
                    f"{where}: attribute 'tau' must be a number in [0, 1], got {tau!r}"
                )
            if not isinstance(v_th, (int, float)) or v_th <= 0:
                raise GraphError(f"{where}: attribute 'v_th' must be a number > 0, got {v_th!r}")
            if node.attrs.get("reset", "zero") != "zero":
                raise GraphError(f"{where}: only reset='zero' (hard reset to 0) is supported")
        if node.attrs.get("binary_input") and not self.is_spiking(node.inputs[0]):
            raise GraphError(
                f"{where}: claims binary-spike input but {node.inputs[0]!r} "
                f"({self.nodes[node.inputs[0]].op}) does not emit spikes"
            )
        if check_shape:
            inferred = infer_shape(node, self)
            if inferred != node.shape:
                raise GraphError(f"{where}: stored shape {node.shape} but inputs give {inferred}")

    def validate(self) -> Graph:
        """Check every node (ops, inputs defined before use, arrays, shapes, spike claims)."""
        seen = Graph(self.meta)
        for node in self:
            seen._check_node(node)
            seen.nodes[node.name] = node
        static_input_policy(self)
        ops = [n.op for n in self]
        if ops.count("input") != 1 or ops.count("output") != 1:
            raise GraphError(
                f"a graph needs exactly one input and one output node, has "
                f"{ops.count('input')} and {ops.count('output')}"
            )
        return self

    def fingerprint(self) -> str:
        """SHA-256 over the structure and every array: ties recorded activity to its graph."""
        h = hashlib.sha256()
        for n in self:
            h.update(
                json.dumps(
                    [n.name, n.op, list(n.inputs), list(n.shape), n.attrs], sort_keys=True
                ).encode()
            )
            for key in sorted(n.arrays):
                h.update(key.encode())
                h.update(np.ascontiguousarray(n.arrays[key]).tobytes())
        return h.hexdigest()[:16]

    # persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the graph atomically to one ``.npz`` file (JSON header + arrays)."""
        path = Path(path)
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "meta": self.meta,
            "nodes": [
                {
                    "name": n.name,
                    "op": n.op,
                    "inputs": list(n.inputs),
                    "shape": list(n.shape),
                    "attrs": n.attrs,
                    "arrays": sorted(n.arrays),
                }
                for n in self
            ],
        }
        arrays = {f"{i}/{k}": v for i, n in enumerate(self) for k, v in n.arrays.items()}
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())
        return path

    @classmethod
    def load(cls, path: str | Path) -> Graph:
        """Read and validate a graph written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise GraphError(f"no IR graph at {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(data["header"].tobytes().decode())
                arrays = {k: data[k] for k in data.files if k != "header"}
        except (
            OSError,
            ValueError,
            KeyError,
            UnicodeDecodeError,
            EOFError,
            zipfile.BadZipFile,
        ) as e:
            raise GraphError(
                f"{path} is not a readable IR file ({type(e).__name__}: {e})"
            ) from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise GraphError(f"{path} is not an rshw IR file")
        if header.get("format_version") != FORMAT_VERSION:
            raise GraphError(
                f"{path} has IR format version {header.get('format_version')}; "
                f"this version reads {FORMAT_VERSION}"
            )
        _check_header(header, path)
        graph = cls(header["meta"])
        for i, spec in enumerate(header["nodes"]):
            missing = [k for k in spec["arrays"] if f"{i}/{k}" not in arrays]
            if missing:
                raise GraphError(f"{path}: node {spec['name']!r} lacks array(s) {missing}")
            graph.nodes[spec["name"]] = Node(
                spec["name"],
                spec["op"],
                tuple(spec["inputs"]),
                tuple(spec["shape"]),
                spec["attrs"],
                {k: arrays[f"{i}/{k}"] for k in spec["arrays"]},
            )
        return graph.validate()


HEADER_TYPES = {"meta": dict, "nodes": list}
NODE_TYPES = {"name": str, "op": str, "inputs": list, "shape": list, "attrs": dict, "arrays": list}


def _check_header(header: dict, path: Path) -> None:
    """Every key :meth:`Graph.load` reads is there with its type, so a damaged or hand-written
    header fails naming the key, not with a ``KeyError``."""
    for key, kind in HEADER_TYPES.items():
        if not isinstance(header.get(key), kind):
            raise GraphError(f"{path}: the header lacks {key!r} (a {kind.__name__})")
    for i, spec in enumerate(header["nodes"]):
        if not isinstance(spec, dict):
            raise GraphError(f"{path}: node {i} of the header is not an object")
        for key, kind in NODE_TYPES.items():
            if not isinstance(spec.get(key), kind):
                name = spec.get("name", f"number {i}")
                raise GraphError(f"{path}: node {name!r} lacks {key!r} (a {kind.__name__})")


def static_input_policy(graph: Graph) -> str:
    """``graph.meta["static_input"]``: ``"once"`` (the default when absent) or ``"every_step"``."""
    policy = graph.meta.get("static_input", "once")
    if policy not in STATIC_INPUT:
        raise GraphError(
            f"meta 'static_input' must be one of {', '.join(map(repr, STATIC_INPUT))}, "
            f"got {policy!r}"
        )
    return policy


def computed_once(graph: Graph) -> set[str]:
    """Nodes computed once per inference rather than at every time step.

    Under ``static_input = "once"``: a static input (``encoding`` "static", the default) and every
    node other than a LIF fed only by such nodes (the stem conv(s) of direct encoding, up to the
    first LIF, which reads their held output at every step). Under ``"every_step"``: none.
    """
    if static_input_policy(graph) == "every_step":
        return set()
    once: set[str] = set()
    for node in graph:
        if node.op == "input":
            if node.attrs.get("encoding", "static") == "static":
                once.add(node.name)
        elif node.op != "lif" and all(i in once for i in node.inputs):
            once.add(node.name)
    return once


def infer_shape(node: Node, graph: Graph) -> tuple[int, ...]:
    """The output shape a node's op gives its inputs' shapes; raises GraphError when they clash."""
    where = f"node {node.name!r} ({node.op})"
    shapes = [graph.nodes[i].shape for i in node.inputs]
    a = node.arrays
    if node.op == "input":
        return node.shape
    if node.op in ("conv", "local"):
        (cin, h, w), weight = _chw(shapes[0], where), a["weight"]
        if weight.ndim != 4 or weight.shape[1] != cin:
            raise GraphError(f"{where}: weight {weight.shape} does not take {cin} input channels")
        if node.op == "local" and a["in_scale"].shape != (cin, h, w):
            raise GraphError(f"{where}: in_scale {a['in_scale'].shape} must be {(cin, h, w)}")
        _check_bias(node, weight.shape[0], where)
        return (
            weight.shape[0],
            *window_out(
                (h, w), weight.shape[2:], node.attrs.get("stride", 1), node.attrs.get("padding", 0)
            ),
        )
    if node.op == "linear":
        weight = a["weight"]
        if len(shapes[0]) != 1 or weight.ndim != 2 or weight.shape[1] != shapes[0][0]:
            raise GraphError(f"{where}: weight {weight.shape} does not take input {shapes[0]}")
        _check_bias(node, weight.shape[0], where)
        return (weight.shape[0],)
    if node.op in ("avgpool", "maxpool"):
        c, h, w = _chw(shapes[0], where)
        kernel = node.attrs.get("kernel")
        if kernel is None:
            raise GraphError(f"{where}: missing attribute 'kernel'")
        return (
            c,
            *window_out(
                (h, w), kernel, node.attrs.get("stride", kernel), node.attrs.get("padding", 0)
            ),
        )
    if node.op == "add":
        if shapes[0] != shapes[1]:
            raise GraphError(f"{where}: inputs have different shapes {shapes[0]} and {shapes[1]}")
        return shapes[0]
    if node.op == "scale":
        try:
            np.broadcast_shapes(a["scale"].shape, shapes[0])
        except ValueError:
            raise GraphError(
                f"{where}: scale {a['scale'].shape} does not broadcast to {shapes[0]}"
            ) from None
        return shapes[0]
    if node.op == "flatten":
        return (int(np.prod(shapes[0])),)
    return shapes[0]  # lif, output


def _chw(shape: tuple[int, ...], where: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise GraphError(f"{where}: needs a (C, H, W) input, got {shape}")
    return shape  # type: ignore[return-value]


def _check_bias(node: Node, channels: int, where: str) -> None:
    bias = node.arrays.get("bias")
    if bias is not None and bias.shape != (channels,):
        raise GraphError(f"{where}: bias {bias.shape} must be ({channels},)")


def materialize_local(node: Node) -> np.ndarray:
    """The per-position kernels of a ``local`` node: ``[Ho, Wo, Co, Ci, kh, kw]``.

    Padding positions get scale 0 (they multiply zero inputs either way). Memory grows with
    ``Ho·Wo``: meant for small layers and tests, not for whole networks.
    """
    if node.op != "local":
        raise GraphError(f"node {node.name!r} is a {node.op}, not a local layer")
    weight, in_scale = node.arrays["weight"], node.arrays["in_scale"]
    (kh, kw), (sh, sw) = weight.shape[2:], pair(node.attrs.get("stride", 1))
    ph, pw = pair(node.attrs.get("padding", 0))
    padded = np.pad(in_scale, ((0, 0), (ph, ph), (pw, pw)))
    ho, wo = node.shape[1:]
    kernels = np.empty((ho, wo, *weight.shape), dtype=weight.dtype)
    for y in range(ho):
        for x in range(wo):
            window = padded[:, y * sh : y * sh + kh, x * sw : x * sw + kw]
            kernels[y, x] = weight * window[None]
    return kernels
