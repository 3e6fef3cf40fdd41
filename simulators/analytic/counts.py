"""Exact operation counts of an IR graph on recorded activity, per layer and time step.

Everything is per inference: summed over the neurons of a layer, averaged over the traced
samples. Synaptic operations (SOPs, accumulates) are counted event by event with each input
neuron's exact fan-out (borders, padding, strides; unshared layers alike); the "firing rate ×
dense synapses" convention of syops and most papers is computed beside it for comparison.
Layers whose input is real-valued (the stem, layers after average pooling) do dense MACs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulators.activity import Activity
from simulators.connectivity import fan_out, synapses
from simulators.ir import WEIGHTED_OPS, Graph

COUNT_COLUMNS = (
    "sops",
    "sops_rate_dense",
    "macs",
    "input_spikes",
    "input_neurons",
    "neuron_updates",
    "spikes_out",
    "additions",
    "multiplications",
    "comparisons",
    "weight_reads",
    "accumulator_rw",
    "membrane_rw",
    "parameter_reads",
    "spike_bits_read",
    "spike_bits_written",
)


def _input_spikes(activity: Activity, edge: str) -> np.ndarray:
    """Mean spikes per inference entering from ``edge``, per step ``[T]``."""
    return activity.sample_counts(edge).sum(0) / activity.samples


def count(graph: Graph, activity: Activity) -> pd.DataFrame:
    """One row per node with work to do and per step; columns :data:`COUNT_COLUMNS`."""
    activity.check_graph(graph)
    steps = activity.timesteps
    rows = []
    for node in graph:
        if node.op in ("input", "output", "flatten"):
            continue
        producer = node.inputs[0]
        binary = graph.is_spiking(producer)
        in_neurons = int(np.prod(graph[producer].shape))
        out_neurons = int(np.prod(node.shape))
        per_step = {c: np.zeros(steps) for c in COUNT_COLUMNS}
        per_step["input_neurons"][:] = in_neurons
        if binary:
            per_step["input_spikes"] = _input_spikes(activity, producer)
            per_step["spike_bits_read"][:] = in_neurons
        if node.op in WEIGHTED_OPS:
            if binary:
                fan = fan_out(graph, node)
                exact = (activity.position_counts(producer) * fan).reshape(steps, -1).sum(1)
                per_step["sops"] = exact / activity.samples
                per_step["sops_rate_dense"] = (
                    per_step["input_spikes"] / in_neurons * synapses(graph, node)
                )
                ops = per_step["sops"]
            else:
                per_step["macs"][:] = synapses(graph, node)
                ops = per_step["macs"]
            per_step["weight_reads"] = ops.copy()
            per_step["accumulator_rw"] = 2 * ops
        elif node.op == "lif":
            per_step["neuron_updates"][:] = out_neurons
            per_step["multiplications"][:] = out_neurons  # leak: tau·u
            per_step["additions"][:] = out_neurons  # + input
            per_step["comparisons"][:] = out_neurons  # threshold
            per_step["membrane_rw"][:] = 2 * out_neurons
            per_step["spikes_out"] = (
                _input_spikes(activity, node.name)
                if (node.name in activity.edges)
                else np.zeros(steps)
            )
            per_step["spike_bits_written"][:] = out_neurons
        elif node.op == "add":
            per_step["additions"][:] = out_neurons
        elif node.op == "scale":
            # a ⊙ o on a binary spike selects a, no arithmetic: one parameter read per spike
            per_step["parameter_reads"] = (
                per_step["input_spikes"] if binary else np.full(steps, float(out_neurons))
            )
            if not binary:
                per_step["multiplications"][:] = out_neurons
        elif node.op == "avgpool":
            per_step["additions"] = (
                per_step["input_spikes"] if binary else np.full(steps, float(in_neurons))
            )
            per_step["multiplications"][:] = out_neurons  # × 1/window
        elif node.op == "maxpool":
            per_step["comparisons"] = (
                per_step["input_spikes"] if binary else np.full(steps, float(in_neurons))
            )
        for t in range(steps):
            rows.append(
                {
                    "layer": node.name,
                    "op": node.op,
                    "step": t,
                    "binary_input": binary,
                    **{c: float(per_step[c][t]) for c in COUNT_COLUMNS},
                }
            )
    return pd.DataFrame(rows)
