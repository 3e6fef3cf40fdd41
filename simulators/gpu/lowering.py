"""From an IR graph to the framework ops a PyTorch implementation calls, in program order.

T is merged into the batch dimension (``n = batch x T`` images per kernel); nodes whose inputs
do not change over time (the stem on a static image) run once on the batch and the LIF reads
them at every step, unless the graph's ``static_input`` is ``"every_step"``
(:func:`simulators.ir.computed_once`). ``execution="event"`` runs every weighted layer with
binary-spike input event-driven, with the spike and synaptic-operation counts of the recorded
Activity.

Two implementations (:data:`IMPLEMENTATIONS`): ``"eager"`` is plain PyTorch as the calibration
measured it (NCHW tensors, cuDNN transposes, a separate bias add, broadcast index arithmetic,
the LIF as a loop of small ops, unshared layers as unfold + bmm, a host call per op);
``"tuned"`` is what a GPU engineer would write (channels_last, bias in the GEMM epilogue,
statically indexed elementwise kernels, one fused LIF kernel, one implicit batched GEMM per
unshared layer, the whole batch replayed as one CUDA graph). ``"tuned"`` is not calibrated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.activity import Activity
from simulators.connectivity import fan_out
from simulators.gpu import convolution, layers
from simulators.gpu.config import DTYPE_BYTES, GpuSpec
from simulators.gpu.kernels import ACCUMULATOR_BYTES, Op
from simulators.ir import Graph, Node, computed_once

EXECUTIONS = ("dense", "event")
IMPLEMENTATIONS = ("eager", "tuned")


@dataclass(frozen=True)
class Settings:
    """How the network runs: images per batch, time steps, data type, kernels chosen."""

    batch: int
    timesteps: int
    dtype: str
    execution: str = "dense"
    implementation: str = "eager"

    def __post_init__(self) -> None:
        checks = [
            ("batch", isinstance(self.batch, int) and self.batch >= 1, "an integer >= 1"),
            ("timesteps", isinstance(self.timesteps, int) and self.timesteps >= 1, ">= 1"),
            ("dtype", self.dtype in DTYPE_BYTES, f"one of {sorted(DTYPE_BYTES)}"),
            ("execution", self.execution in EXECUTIONS, f"one of {EXECUTIONS}"),
            (
                "implementation",
                self.implementation in IMPLEMENTATIONS,
                f"one of {IMPLEMENTATIONS}",
            ),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"{name} must be {allowed}, got {getattr(self, name)!r}")


def event_counts(
    graph: Graph, node: Node, activity: Activity, images: int
) -> tuple[float, float, float]:
    """Input spikes, synaptic operations and the fraction of synapses whose input fires at
    least once, for ``images`` (samples x steps) of the recorded activity's mean statistics.

    The fraction assumes a neuron fires independently across samples and steps with its
    recorded mean probability; it sizes the distinct unshared weights the spikes touch."""
    producer = node.inputs[0]
    samples, steps = activity.samples, activity.timesteps
    counts = activity.position_counts(producer)
    fan = fan_out(graph, node)
    per_image = images / steps
    spikes = activity.sample_counts(producer).sum() / samples * per_image
    sops = (counts * fan).sum() / samples * per_image
    rate = counts.sum(0) / (samples * steps)
    touched = ((1 - (1 - rate) ** images) * fan).sum() / fan.sum()
    return float(spikes), float(sops), float(touched)


def lower(graph: Graph, activity: Activity | None, spec: GpuSpec, settings: Settings) -> list[Op]:
    """The ops of one batch through ``graph``, in program order."""
    static = computed_once(graph)
    el = DTYPE_BYTES[settings.dtype]
    eager = settings.implementation == "eager"
    indexed = None if eager else False  # eager broadcasts pay PyTorch's index arithmetic
    tensor: dict[str, str] = {}  # node -> the tensor holding its value (views alias)
    element_bytes: dict[str, float] = {}
    ops: list[Op] = []
    for node in graph:
        name = node.name
        n = settings.batch if name in static else settings.batch * settings.timesteps
        src = tensor.get(node.inputs[0], "") if node.inputs else ""
        tensor[name], element_bytes[name] = name, el
        if node.op in ("input", "flatten"):
            if node.op == "flatten":
                tensor[name] = src
                element_bytes[name] = element_bytes[node.inputs[0]]
            continue
        in_bytes = element_bytes[node.inputs[0]]
        out_elements = n * int(np.prod(node.shape))
        in_shape = graph[node.inputs[0]].shape
        event = (
            settings.execution == "event"
            and node.op in ("conv", "local", "linear")
            and node.attrs.get("binary_input", False)
        )
        if event:
            if activity is None:
                raise ValueError("execution='event' needs the recorded Activity")
            spikes, sops, touched = event_counts(graph, node, activity, n)
            weights = node.weight_count * el * (touched if node.op == "local" else 1.0)
            ops.append(
                layers.event_accumulate(
                    name,
                    node.op,
                    n * int(np.prod(in_shape)),
                    in_bytes,
                    out_elements,
                    node.shape[0],
                    spikes,
                    sops,
                    weights,
                    settings.dtype,
                    src,
                    name,
                )
            )
            element_bytes[name] = ACCUMULATOR_BYTES
        elif node.op in ("conv", "local"):
            geometry = (
                name,
                n,
                in_shape[0],
                tuple(in_shape[1:]),
                node.shape[0],
                tuple(node.shape[1:]),
                tuple(node.arrays["weight"].shape[2:]),
                settings.dtype,
                spec,
                src,
                name,
            )
            bias = eager and "bias" in node.arrays  # tuned kernels add it in their epilogue
            if node.op == "conv":
                layout = "nchw" if eager else "nhwc"
                ops.append(convolution.conv(*geometry, layout=layout, bias=bias))
            elif eager:
                ops += layers.local(*geometry, bias=bias)
            else:
                ops += layers.local_implicit(*geometry)
        elif node.op == "linear":
            fin, fout = in_shape[0], node.shape[0]
            ops.append(layers.linear(name, n, fin, fout, settings.dtype, spec, src, name))
        elif node.op == "lif":
            per_step = settings.batch * int(np.prod(node.shape))
            form = layers.lif_loop if eager else layers.lif_fused
            from_static = node.inputs[0] in static
            ops += form(
                name, per_step, settings.timesteps, settings.dtype, src, in_bytes, name, from_static
            )
        elif node.op == "add":
            reads = [
                (tensor[i], element_bytes[i], _elements(graph, i, static, settings))
                for i in node.inputs
            ]
            ops.append(layers.pointwise(name, "add", "add", out_elements, reads, name, el, indexed))
        elif node.op == "scale":
            reads = [
                (src, in_bytes, out_elements),
                (f"{name}:scale", el, node.arrays["scale"].size),
            ]
            ops.append(
                layers.pointwise(name, "scale", "mul", out_elements, reads, name, el, indexed)
            )
        elif node.op in ("avgpool", "maxpool"):
            reads = [(src, in_bytes, n * int(np.prod(in_shape)))]
            call = "avg_pool2d" if node.op == "avgpool" else "max_pool2d"
            ops.append(
                layers.pointwise(name, node.op, call, out_elements, reads, name, el, indexed)
            )
        elif node.op == "output":
            reads = [(src, in_bytes, n * int(np.prod(in_shape)))]
            batch_out = settings.batch * int(np.prod(node.shape))
            ops.append(
                layers.pointwise(name, "output", "mean", batch_out, reads, name, el, indexed)
            )
    return ops


def _elements(graph: Graph, name: str, static: set[str], settings: Settings) -> int:
    n = settings.batch if name in static else settings.batch * settings.timesteps
    return n * int(np.prod(graph[name].shape))
