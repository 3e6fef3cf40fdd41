"""NeuroBench-style workload and static counts of an IR graph on recorded activity, torch-free.

NeuroBench (``neurobench/metrics``, v2) hooks every Linear/Conv layer and neuron layer of a torch
model at every forward call and reports, per sample:

- ``Effective_ACs`` / ``Effective_MACs``: the layer applied with its nonzero weights set to 1 to
  its nonzero inputs set to 1, summed over outputs (bias excluded): ACs where the input is binary
  spikes, MACs otherwise;
- ``Dense``: the same with every weight and input set to 1 (zero padding adds nothing);
- ``ActivationSparsity``: zeros over all outputs of the neuron layers, over steps and samples;
- ``ParameterCount`` (parameters) and ``Footprint`` (bytes of parameters and buffers).

Conventions where they differ from rshw's own counts (``simulators.analytic.counts``):

- steps: a model called once per step (snnTorch, single-step SpikingJelly) is counted at every
  step, the stem on a static image included; rshw computes the stem once under
  ``static_input = "once"``. This block follows NeuroBench: every layer at every step;
- zero weights: NeuroBench skips them (``Effective_*``); so does this block. rshw's ``sops``
  count every synapse a spike drives;
- real-valued inputs (the stem's image, values after average pooling, multi-level SEW sums):
  the activity records spikes only, so every real-valued input counts as nonzero here, where
  NeuroBench skips exact zeros (a normalised image has none; a ReLU's zeros would count);
- parameters: the folded graph's (BatchNorm and Real Spike ``a`` folded away, so fewer than
  the trained model's); an unshared (``local``) layer counts one kernel per output position,
  taps on zero padding included, as :attr:`simulators.ir.Node.weight_count` stores them (and as
  an explicit locally connected torch layer, ``[Ho·Wo, Co, Ci·kh·kw]``, holds them);
  ``padding_taps`` says how many of those multiply zero padding only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulators.activity import Activity
from simulators.connectivity import synapses
from simulators.ir import WEIGHTED_OPS, Graph, Node, pair


def nonzero_fan_out(graph: Graph, node: Node) -> np.ndarray:
    """Nonzero-weight synapses leaving each input neuron of a weighted node, input-shaped."""
    weight = node.arrays["weight"] != 0
    in_shape = graph[node.inputs[0]].shape
    if node.op == "linear":
        return weight.sum(0).astype(np.int64)
    (_, h, w), (kh, kw) = in_shape, weight.shape[2:]
    (sh, sw), (ph, pw) = pair(node.attrs.get("stride", 1)), pair(node.attrs.get("padding", 0))
    ho, wo = node.shape[1:]
    taps = weight.sum(0)  # [Ci, kh, kw]: outputs each tap of each input channel drives
    fan = np.zeros((in_shape[0], h + 2 * ph, w + 2 * pw), np.int64)
    ys, xs = np.arange(ho) * sh, np.arange(wo) * sw
    for i in range(kh):
        for j in range(kw):
            fan[:, (ys + i)[:, None], (xs + j)[None, :]] += taps[:, i, j][:, None, None]
    fan = fan[:, ph : ph + h, pw : pw + w]
    if node.op == "local":  # K_p = in_scale ⊙ K: zero where the input's scale is zero
        fan = fan * (node.arrays["in_scale"] != 0)
    return fan


def padding_taps(graph: Graph, node: Node) -> int:
    """Stored weights of an unshared layer that only ever multiply zero padding."""
    if node.op != "local":
        return 0
    return node.weight_count - synapses(graph, node)


def neurobench_counts(graph: Graph, activity: Activity, weight_bytes: int = 4) -> dict[str, Any]:
    """Per sample (mean over the traced samples): effective ACs and MACs, dense operations,
    activation sparsity, parameters and their footprint at ``weight_bytes`` each (4: float32, as
    the frameworks train and NeuroBench's ``Footprint`` measures); see the module docstring."""
    steps, samples = activity.timesteps, activity.samples
    acs = macs = dense = 0.0
    for node in graph:
        if node.op not in WEIGHTED_OPS:
            continue
        producer = node.inputs[0]
        dense += steps * synapses(graph, node)
        fan = nonzero_fan_out(graph, node)
        if graph.is_spiking(producer):
            acs += float((activity.position_counts(producer) * fan[None]).sum()) / samples
        else:
            macs += steps * float(fan.sum())
    lifs = [n.name for n in graph if n.op == "lif" and n.name in activity.edges]
    spikes = sum(float(activity.sample_counts(n).sum()) for n in lifs)
    outputs = sum(activity.neurons(n) for n in lifs) * steps * samples
    parameters = sum(
        n.weight_count + sum(a.size for k, a in n.arrays.items() if k not in ("weight", "in_scale"))
        for n in graph
    )
    return {
        "effective_acs": acs,
        "effective_macs": macs,
        "dense": dense,
        "activation_sparsity": 1 - spikes / outputs if outputs else 0.0,
        "parameters": int(parameters),
        "padding_taps": int(sum(padding_taps(graph, n) for n in graph)),
        "footprint_bytes": int(parameters * weight_bytes),
        "convention": "NeuroBench v2: every layer at every step, zero weights skipped, bias "
        "excluded; real-valued inputs taken as nonzero; parameters of the folded graph",
    }
