"""A fully connected SNN built in Brian2 with ``Synapses``, against our IR executor.

Each layer is a ``NeuronGroup`` with potential ``u`` and input accumulator ``I``; a synapse adds
its weight to ``I`` when its presynaptic neuron spikes (``on_pre``), and the group integrates
``u = tau*u; u = u + I + b; I = 0`` before its threshold. Brian2 delivers a spike emitted at step
``t`` after that step's thresholds, so layer ``k`` sees it one step later: Brian2's layer ``k`` at
step ``t + k`` equals our layer ``k`` at step ``t``. With dyadic weights every sum is exact in any
order, so the comparison is bit for bit. A layer's bias is switched on when its first input can
arrive, so that it starts from rest exactly as ours does.
"""

from __future__ import annotations

import brian2 as b2
import numpy as np

from simulators.ir import Graph, GraphError
from simulators.reference.session import STEP, brian2_scope, spike_matrix


def _layers(graph: Graph) -> list[tuple[str, np.ndarray, np.ndarray, float, float]]:
    """``(lif name, weight, bias, tau, v_th)`` per layer of a linear → lif chain."""
    layers, pending = [], None
    for node in graph:
        if node.op == "linear":
            pending = node
        elif node.op == "lif":
            if pending is None or node.inputs[0] != pending.name:
                raise GraphError(f"{node.name}: the Brian2 network check takes linear → lif chains")
            weight = pending.arrays["weight"]
            bias = pending.arrays.get("bias", np.zeros(weight.shape[0]))
            layers.append((node.name, weight, bias, node.attrs["tau"], node.attrs["v_th"]))
            pending = None
        elif node.op not in ("input", "output", "flatten"):
            raise GraphError(f"{node.name}: op {node.op} is not supported by the network check")
    return layers


def brian2_network(
    graph: Graph, spikes_in: np.ndarray, dtype=np.float64, target: str = "numpy"
) -> dict[str, np.ndarray]:
    """Spikes ``[T, N]`` of every LIF layer for binary input spikes ``spikes_in[T, F]``,
    realigned to our time steps (each layer's one-step synaptic delay removed)."""
    layers = _layers(graph)
    steps, features = spikes_in.shape
    if features != int(np.prod(graph.input.shape)):
        raise ValueError(
            f"input spikes have {features} features; the graph takes {graph.input.shape}"
        )
    depth = len(layers)
    with brian2_scope(dtype, target):
        t_idx, i_idx = np.nonzero(spikes_in)
        source = b2.SpikeGeneratorGroup(features, i_idx, t_idx * STEP)
        objects, monitors, pre = [source], {}, source
        for k, (name, weight, bias, tau, v_th) in enumerate(layers):
            # layer k+1 starts k+1 steps late: its bias must not act before its input arrives
            group = b2.NeuronGroup(
                len(bias),
                "u : 1\nI : 1\nb : 1 (constant)",
                threshold="u >= v_th",
                reset="u = 0",
                name=_safe(name),
                namespace={"tau": tau, "v_th": v_th, "start": (k + 1) * STEP},
            )
            group.b = bias.astype(dtype)
            group.run_regularly(
                "u = tau*u\nu = u + I + b*int(t >= start)\nI = 0", when="before_thresholds"
            )
            post, pre_idx = np.nonzero(weight)
            synapses = b2.Synapses(pre, group, "w : 1", on_pre="I_post += w")
            synapses.connect(i=pre_idx, j=post)
            synapses.w = weight[post, pre_idx].astype(dtype)
            monitors[name] = b2.SpikeMonitor(group)
            objects += [group, synapses, monitors[name]]
            pre = group
        b2.Network(*objects).run((steps + depth) * STEP)
        return {
            name: spike_matrix(monitors[name], steps + depth, len(bias))[k + 1 : k + 1 + steps]
            for k, (name, _, bias, _, _) in enumerate(layers)
        }


def _safe(name: str) -> str:
    """Brian2 object names allow letters, digits and underscores."""
    return "layer_" + "".join(c if c.isalnum() else "_" for c in name)
