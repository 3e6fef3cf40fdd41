"""Exact operation counts of an IR graph on recorded activity, per layer, time step and image.

Everything is per inference: summed over the neurons of a layer, for each traced sample (and
averaged over them in :func:`count`). Synaptic operations (SOPs, accumulates) are counted event
by event with each input neuron's exact fan-out (borders, padding, strides; unshared layers
alike). Two rate conventions are computed beside them for comparison: ``sops_rate_border_aware``
(input firing rate × the layer's real synapses, which skip zero padding) and
``sops_rate_dense_padded`` (syops' convention: rate × ``Cin·kh·kw·Cout·Ho·Wo``, padding
included). Layers whose input is real-valued (the stem, layers after average pooling) do dense
MACs; layers computed once per inference (:func:`simulators.ir.computed_once`) count at step 0
only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulators.activity import Activity
from simulators.connectivity import padded_synapses, synapses
from simulators.ir import WEIGHTED_OPS, Graph, Node, computed_once
from simulators.per_image import sample_sops

SOP_COLUMNS = ("sops", "sops_rate_border_aware", "sops_rate_dense_padded")
COUNT_COLUMNS = (
    *SOP_COLUMNS,
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


def count_per_sample(graph: Graph, activity: Activity) -> dict[str, dict[str, np.ndarray]]:
    """Per node with work to do: every column of :data:`COUNT_COLUMNS` as ``[samples, T]``."""
    activity.check_graph(graph)
    once = computed_once(graph)
    exact = sample_sops(graph, activity)
    counts = {}
    for node in graph:
        if node.op in ("input", "output", "flatten"):
            continue
        columns = _node_counts(graph, node, activity, exact.get(node.name))
        if node.name in once:
            for values in columns.values():
                values[:, 1:] = 0
        counts[node.name] = columns
    return counts


def _node_counts(
    graph: Graph, node: Node, activity: Activity, exact_sops: np.ndarray | None
) -> dict[str, np.ndarray]:
    producer = node.inputs[0]
    binary = graph.is_spiking(producer)
    in_neurons = int(np.prod(graph[producer].shape))
    out_neurons = int(np.prod(node.shape))
    shape = (activity.samples, activity.timesteps)
    c = {name: np.zeros(shape) for name in COUNT_COLUMNS}
    c["input_neurons"][:] = in_neurons
    if binary:
        c["input_spikes"] = activity.sample_counts(producer).astype(float)
        c["spike_bits_read"][:] = in_neurons
    if node.op in WEIGHTED_OPS:
        if binary:
            rate = c["input_spikes"] / in_neurons
            c["sops"] = exact_sops
            c["sops_rate_border_aware"] = rate * synapses(graph, node)
            c["sops_rate_dense_padded"] = rate * padded_synapses(graph, node)
            ops = c["sops"]
        else:
            c["macs"][:] = synapses(graph, node)
            ops = c["macs"]
        c["weight_reads"] = ops.copy()
        c["accumulator_rw"] = 2 * ops
    elif node.op == "lif":
        c["neuron_updates"][:] = out_neurons
        c["multiplications"][:] = out_neurons  # leak: tau·u
        c["additions"][:] = out_neurons  # + input
        c["comparisons"][:] = out_neurons  # threshold
        c["membrane_rw"][:] = 2 * out_neurons
        if node.name in activity.edges:
            c["spikes_out"] = activity.sample_counts(node.name).astype(float)
        c["spike_bits_written"][:] = out_neurons
    elif node.op == "add":
        c["additions"][:] = out_neurons
    elif node.op == "scale":
        # a ⊙ o on a binary spike selects a, no arithmetic: one parameter read per spike
        c["parameter_reads"] = (
            c["input_spikes"].copy() if binary else c["parameter_reads"] + out_neurons
        )
        if not binary:
            c["multiplications"][:] = out_neurons
    elif node.op == "avgpool":
        c["additions"] = c["input_spikes"].copy() if binary else c["additions"] + in_neurons
        c["multiplications"][:] = out_neurons  # × 1/window
    elif node.op == "maxpool":
        c["comparisons"] = c["input_spikes"].copy() if binary else c["comparisons"] + in_neurons
    return c


def count(graph: Graph, activity: Activity) -> pd.DataFrame:
    """One row per node with work to do and per step, mean over the traced samples; columns
    :data:`COUNT_COLUMNS`."""
    rows = []
    for name, columns in count_per_sample(graph, activity).items():
        node = graph[name]
        means = {c: v.mean(0) for c, v in columns.items()}
        binary = graph.is_spiking(node.inputs[0])
        for t in range(activity.timesteps):
            rows.append(
                {
                    "layer": name,
                    "op": node.op,
                    "step": t,
                    "binary_input": binary,
                    **{c: float(means[c][t]) for c in COUNT_COLUMNS},
                }
            )
    return pd.DataFrame(rows)
