"""A described torch module (SpikingJelly, snnTorch, plain torch layers) → a binary-spike IR graph.

Modules are recognised by class name and attributes (see :mod:`rshw.importers.describe`), so no
framework needs to be installed. What flows between modules is a *sum of terms*, each a node
times a pending scale, kept unfolded until a consumer decides:

- a conv or linear layer takes each binary term with its own copy of the kernel, the term's scale
  folded in (per channel: a shared kernel; per position: a ``local`` layer), and the copies are
  added: every layer sees binary spikes (``sew="split"``); with ``sew="multilevel"`` a sum of
  several terms is added first and the layer reads the multi-level values (MACs);
- BatchNorm (eval mode) folds into the conv or linear layer(s) before it, a neuron's input gain
  (SpikingJelly's ``decay_input``) into the layer(s) feeding it, a graded spike (snnTorch's
  ``graded_spikes_factor``) into the layers reading it;
- SEW ``ADD`` joins two term lists (its 0/1/2 sums never materialize for a conv); ``AND`` and
  ``IAND`` of spikes are threshold units (a LIF with decay 0): ``[x + y ≥ 1.5]`` and
  ``[x − y ≥ 0.5]``, exact on binary spikes.

Arithmetic is float64; arrays are stored in the requested dtype at the end. Nodes are named by
module path, so a LIF node and the neuron it replaces share a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rshw.importers import snntorch, spikingjelly
from rshw.importers.neuron import ImportRefused, Neuron
from simulators.ir import Graph, pair

SEW_POLICIES = ("split", "multilevel")
NEURONS = {**spikingjelly.NEURONS, **snntorch.NEURONS}
CONTAINERS = ("Sequential", "SeqToANNContainer", "MultiStepContainer", "StepModeContainer")
BLOCKS = ("BasicBlock", "SEWResNet", "SpikingResNet")  # SpikingJelly's, see spikingjelly.py
PASS_THROUGH = ("Identity", "Dropout", "Dropout2d")  # identities in eval mode
BATCHNORMS = (
    "BatchNorm1d",
    "BatchNorm2d",
    "ThresholdDependentBatchNorm1d",  # tdBN: plain BN in eval mode (its weight starts at α·V_th)
    "ThresholdDependentBatchNorm2d",
)


@dataclass
class Term:
    """``scale ⊙ node``; ``scale`` broadcasts to the node's shape (None: 1)."""

    node: str
    scale: np.ndarray | None = None


def _is_shared(scale: np.ndarray | None) -> bool:
    return scale is None or all(s == 1 for s in scale.shape[1:])


class Lowering:
    def __init__(self, state: dict[str, np.ndarray], graph: Graph, sew: str) -> None:
        if sew not in SEW_POLICIES:
            raise ImportRefused(f"sew={sew!r}: choose one of {', '.join(SEW_POLICIES)}")
        self.state, self.graph, self.sew = state, graph, sew
        self.sums: dict[tuple, str] = {}  # materialized sums, by their terms

    # helpers ----------------------------------------------------------------------------------
    def array(self, path: str, key: str, required: bool = True) -> np.ndarray | None:
        value = self.state.get(f"{path}.{key}")
        if value is None and required:
            raise ImportRefused(f"{path}: no {key!r} in the weights (state dict key {path}.{key})")
        return value

    def spiking(self, term: Term) -> bool:
        return self.graph.is_spiking(term.node)

    def foldable(self, term: Term) -> bool:
        """A weighted node nothing reads yet: later gains can still go into its weights."""
        node = self.graph[term.node]
        return node.op in ("conv", "local", "linear") and not self.graph.consumers(node.name)

    def scale_outputs(self, name: str, gain: np.ndarray) -> None:
        """Multiply a weighted node's output channels (weight rows and bias) by ``gain``."""
        node = self.graph[name]
        weight = node.arrays["weight"]
        node.arrays["weight"] = weight * gain.reshape(-1, *([1] * (weight.ndim - 1)))
        if "bias" in node.arrays:
            node.arrays["bias"] = node.arrays["bias"] * gain

    def materialize(self, path: str, value: list[Term]) -> str:
        """The sum of the terms as one node: scales folded into foldable weighted nodes (per
        channel), else explicit ``scale`` nodes; then ``add`` nodes. A sum of spike maps (SEW ADD
        under ``multilevel``) starts from the term produced last, so the hardware models add it
        where that term is made: each node runs on the layer of its first input
        (``simulators/cim/dataflow.py``), and hosted at the first block's input the sum would
        wait for a later block that waits for it. The same sum read by two layers (a stage's
        first conv and its downsample) is one node."""
        key = tuple((t.node, None if t.scale is None else t.scale.tobytes()) for t in value)
        if key in self.sums:
            return self.sums[key]
        if len(value) > 1 and all(self.spiking(t) for t in value):
            position = {name: i for i, name in enumerate(self.graph.nodes)}
            value = sorted(value, key=lambda t: position[t.node], reverse=True)
        names = []
        for i, term in enumerate(value):
            name = term.node
            if term.scale is not None and np.all(term.scale == 1):
                term = Term(name)
            if term.scale is not None:
                if self.foldable(term) and _is_shared(term.scale):
                    channels = self.graph[name].shape[0]
                    self.scale_outputs(name, np.broadcast_to(term.scale.reshape(-1), (channels,)))
                else:
                    name = self.graph.add(
                        f"{path}.scale{i}", "scale", [name], scale=term.scale
                    ).name
            names.append(name)
        total = names[0]
        for i, name in enumerate(names[1:], 1):
            total = self.graph.add(f"{path}.sum{i}", "add", [total, name]).name
        self.sums[key] = total
        return total

    # layers -----------------------------------------------------------------------------------
    def weighted(
        self,
        path: str,
        op: str,
        weight: np.ndarray,
        bias: np.ndarray | None,
        attrs: dict,
        value: list[Term],
    ) -> list[Term]:
        """A conv or linear layer over a sum of terms: one copy per binary term (split), else
        one layer over the materialized sum. Returns its output terms, still foldable."""
        binary = all(self.spiking(t) for t in value)
        if not binary or (self.sew == "multilevel" and len(value) > 1):
            value = [Term(self.materialize(path, value))]
        out = []
        for i, term in enumerate(value):
            name = path if len(value) == 1 else f"{path}.term{i}"
            node_attrs = {**attrs, "binary_input": self.spiking(term)}
            b = bias if i == 0 else None
            w, kind, extra = weight, op, {}
            if term.scale is not None and op == "linear":
                w = weight * np.broadcast_to(term.scale, self.graph[term.node].shape)[None, :]
            elif term.scale is not None and _is_shared(term.scale):
                ci = weight.shape[1]
                vector = np.broadcast_to(term.scale.reshape(term.scale.shape[0], -1)[:, 0], (ci,))
                w = weight * vector[None, :, None, None]
            elif term.scale is not None:
                kind = "local"
                extra = {
                    "in_scale": np.broadcast_to(term.scale, self.graph[term.node].shape).copy()
                }
            self.graph.add(name, kind, [term.node], attrs=node_attrs, weight=w, bias=b, **extra)
            out.append(Term(name))
        return out

    def conv(self, path: str, desc: dict, value: list[Term]) -> list[Term]:
        a = desc["attrs"]
        if a.get("groups", 1) != 1 or tuple(pair(a.get("dilation", 1))) != (1, 1):
            raise ImportRefused(
                f"{path} (Conv2d): groups or dilation other than 1 are not supported"
            )
        if a.get("padding_mode", "zeros") != "zeros" or isinstance(a.get("padding"), str):
            raise ImportRefused(f"{path} (Conv2d): only numeric zero padding is supported")
        attrs = {"stride": a.get("stride", 1), "padding": a.get("padding", 0)}
        return self.weighted(
            path, "conv", self.array(path, "weight"), self.array(path, "bias", False), attrs, value
        )

    def linear(self, path: str, desc: dict, value: list[Term]) -> list[Term]:
        return self.weighted(
            path, "linear", self.array(path, "weight"), self.array(path, "bias", False), {}, value
        )

    def batchnorm(self, path: str, desc: dict, value: list[Term]) -> list[Term]:
        if not all(self.foldable(t) and t.scale is None for t in value):
            raise ImportRefused(
                f"{path} ({desc['class']}): BatchNorm folds only into the conv or linear layer "
                "right before it"
            )
        a = desc["attrs"]
        mean, var = self.array(path, "running_mean"), self.array(path, "running_var")
        weight = self.array(path, "weight", False)
        bias = self.array(path, "bias", False)
        gain = (np.ones_like(var) if weight is None else weight) / np.sqrt(var + a.get("eps", 1e-5))
        shift = (0 if bias is None else bias) - mean * gain
        for term in value:
            self.scale_outputs(term.node, gain)
        first = self.graph[value[0].node]
        first.arrays["bias"] = first.arrays.get("bias", 0) + shift
        return value

    def pool(self, path: str, desc: dict, value: list[Term]) -> list[Term]:
        a, cls = desc["attrs"], desc["class"]
        if cls == "AdaptiveAvgPool2d":
            if tuple(pair(a.get("output_size"))) != (1, 1):
                raise ImportRefused(f"{path} (AdaptiveAvgPool2d): only output_size 1 is supported")
            _, h, w = self.graph[value[0].node].shape
            kernel, stride, padding = (h, w), (h, w), 0
        else:
            kernel = a.get("kernel_size")
            stride, padding = a.get("stride") or kernel, a.get("padding", 0)
            if a.get("ceil_mode") or tuple(pair(a.get("dilation", 1))) != (1, 1):
                raise ImportRefused(f"{path} ({cls}): ceil_mode or dilation are not supported")
            if cls == "AvgPool2d" and (
                a.get("divisor_override") is not None
                or (not a.get("count_include_pad", True) and pair(padding) != (0, 0))
            ):
                raise ImportRefused(
                    f"{path} (AvgPool2d): only torch's default divisor is supported"
                )
        attrs = {"kernel": kernel, "stride": stride, "padding": padding}
        term = value[0]
        if cls == "MaxPool2d" and len(value) == 1 and self.spiking(term):
            if term.scale is None or (_is_shared(term.scale) and np.all(term.scale > 0)):
                return [
                    Term(self.graph.add(path, "maxpool", [term.node], attrs=attrs).name, term.scale)
                ]
        op = "maxpool" if cls == "MaxPool2d" else "avgpool"
        if op == "avgpool" and len(value) == 1 and _is_shared(term.scale):
            return [Term(self.graph.add(path, op, [term.node], attrs=attrs).name, term.scale)]
        return [Term(self.graph.add(path, op, [self.materialize(path, value)], attrs=attrs).name)]

    def flatten(self, path: str, desc: dict, value: list[Term]) -> list[Term]:
        a = desc["attrs"]
        if a.get("start_dim", 1) != 1 or a.get("end_dim", -1) != -1:
            raise ImportRefused(f"{path} (Flatten): only start_dim=1, end_dim=-1 (per sample)")
        out = []
        for i, term in enumerate(value):
            name = path if len(value) == 1 else f"{path}.term{i}"
            shape = self.graph[term.node].shape
            node = self.graph.add(name, "flatten", [term.node]).name
            scale = None if term.scale is None else np.broadcast_to(term.scale, shape).reshape(-1)
            out.append(Term(node, scale))
        return out

    def neuron(self, path: str, n: Neuron, value: list[Term]) -> list[Term]:
        if n.input_gain != 1:
            value = [
                Term(t.node, n.input_gain * (np.ones(1) if t.scale is None else t.scale))
                for t in value
            ]
        source = self.materialize(path, value)
        name = self.graph.add(
            path, "lif", [source], attrs={"tau": n.decay, "v_th": n.v_th, "reset": "zero"}
        ).name
        return [Term(name, None if n.output_scale == 1 else np.full(1, n.output_scale))]

    def threshold_unit(self, path: str, x: list[Term], y: list[Term], negate: bool) -> list[Term]:
        """``[x + y ≥ 1.5]`` (AND) or ``[x − y ≥ 0.5]`` (IAND: x and not y) of single spike maps."""
        terms = x + y
        if len(terms) != 2 or not all(self.spiking(t) and t.scale is None for t in terms):
            raise ImportRefused(f"{path}: AND/IAND need two unscaled binary spike maps")
        if negate:
            terms[1] = Term(terms[1].node, np.full(1, -1.0))
        v_th = 0.5 if negate else 1.5
        return self.neuron(path, Neuron(0.0, v_th), terms)

    # structure --------------------------------------------------------------------------------
    def module(self, path: str, desc: dict, value: list[Term]) -> list[Term]:
        cls = desc["class"]
        if cls in CONTAINERS:
            return self.children(path, desc, [n for n, _ in desc["children"]], value)
        if cls in NEURONS:
            return self.neuron(path, NEURONS[cls](path, desc["attrs"], self.state), value)
        if spikingjelly.is_sew_block(desc) or spikingjelly.is_spiking_block(desc):
            return self.basic_block(path, desc, value)
        if spikingjelly.is_resnet(desc):
            value = self.children(path, desc, spikingjelly.RESNET_ORDER, value)
            value = self.module(self.join(path, "avgpool"), self.child(desc, "avgpool"), value)
            value = self.flatten(self.join(path, "flatten"), {"attrs": {}}, value)
            return self.module(self.join(path, "fc"), self.child(desc, "fc"), value)
        handlers = {
            "Conv2d": self.conv,
            "Linear": self.linear,
            "MaxPool2d": self.pool,
            "AvgPool2d": self.pool,
            "AdaptiveAvgPool2d": self.pool,
            "Flatten": self.flatten,
            **{name: self.batchnorm for name in BATCHNORMS},
        }
        if cls in handlers:
            return handlers[cls](path, desc, value)
        if cls in PASS_THROUGH:
            return value
        raise ImportRefused(
            f"{path or 'the network'} ({cls}): no import rule for this module; known: "
            f"{', '.join(sorted([*handlers, *NEURONS, *CONTAINERS, *BLOCKS]))}"
        )

    @staticmethod
    def join(path: str, name: str) -> str:
        return f"{path}.{name}" if path else name

    @staticmethod
    def child(desc: dict, name: str) -> dict:
        for child_name, child in desc["children"]:
            if child_name == name:
                return child
        raise ImportRefused(f"{desc['class']}: has no child {name!r}")

    def children(self, path: str, desc: dict, names, value: list[Term]) -> list[Term]:
        for name in names:
            value = self.module(self.join(path, name), self.child(desc, name), value)
        return value

    def basic_block(self, path: str, desc: dict, value: list[Term]) -> list[Term]:
        sew = spikingjelly.is_sew_block(desc)
        names = ["conv1", "bn1", "sn1", "conv2", "bn2"] + (["sn2"] if sew else [])
        out = self.children(path, desc, names, value)
        identity = value
        if any(n == "downsample" and c is not None for n, c in desc["children"]):
            identity = self.module(
                self.join(path, "downsample"), self.child(desc, "downsample"), value
            )
            if sew:
                identity = self.module(
                    self.join(path, "downsample_sn"), self.child(desc, "downsample_sn"), identity
                )
        if not sew:  # spiking_resnet: out += identity, then sn2
            return self.module(self.join(path, "sn2"), self.child(desc, "sn2"), out + identity)
        cnf = desc["attrs"]["cnf"]
        if cnf == "ADD":
            return identity + out
        if cnf in (
            "AND",
            "IAND",
        ):  # sew_function(identity, out): identity * out, identity * (1 - out)
            return self.threshold_unit(self.join(path, cnf.lower()), identity, out, cnf == "IAND")
        raise ImportRefused(
            f"{path} (BasicBlock): connect function cnf={cnf!r} is not ADD, AND or IAND"
        )


def lower(
    description: dict[str, Any],
    state: dict[str, np.ndarray],
    input_shape: tuple[int, ...],
    timesteps: int,
    dtype: Any = np.float32,
    sew: str = "split",
    meta: dict[str, Any] | None = None,
) -> Graph:
    """The IR graph of a described module, fed a static ``input_shape`` for ``timesteps``."""
    graph = Graph(
        {
            "model": {"name": description["class"]},
            "realspike": "imported",
            "timesteps": int(timesteps),
            "dtype": np.dtype(dtype).name,
            "sew": sew,
            **(meta or {}),
        }
    )
    graph.add("input", "input", shape=tuple(input_shape), attrs={"encoding": "static"})
    low = Lowering(state, graph, sew)
    value = low.module("", description, [Term("input")])
    graph.add("output", "output", [low.materialize("output", value)], attrs={"reduce": "mean"})
    for node in graph:
        node.arrays = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in node.arrays.items()}
    return graph.validate()
