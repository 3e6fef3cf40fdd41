"""Quantities of each traced image that every hardware model reports beside its own metrics.

Synaptic operations (exact: each input spike times its neuron's fan-out) and the firing rate of
the LIF layers are properties of the image and the network, not of the hardware: computed here
once from the Activity's spike maps, so the analytic, CIM and GPU reports agree on them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulators.activity import Activity
from simulators.connectivity import fan_out
from simulators.ir import WEIGHTED_OPS, Graph


def sample_sops(graph: Graph, activity: Activity) -> dict[str, np.ndarray]:
    """Exact SOPs per sample and step ``[samples, T]`` of every weighted layer with spike input."""
    consumers: dict[str, list] = {}
    for node in graph:
        if node.op in WEIGHTED_OPS and graph.is_spiking(node.inputs[0]):
            consumers.setdefault(node.inputs[0], []).append(node)
    sops = {}
    for producer, nodes in consumers.items():
        fans = {n.name: fan_out(graph, n).reshape(-1).astype(np.float64) for n in nodes}
        parts: dict[str, list[np.ndarray]] = {name: [] for name in fans}
        for chunk in activity.iter_maps(producer):
            flat = chunk.reshape(len(chunk), activity.timesteps, -1)
            for name, fan in fans.items():
                parts[name].append(np.stack([s.astype(np.float64) @ fan for s in flat]))
        for name, chunks in parts.items():
            sops[name] = np.concatenate(chunks) if chunks else np.zeros((0, activity.timesteps))
    return sops


def firing_rates(graph: Graph, activity: Activity) -> np.ndarray:
    """Spikes per LIF neuron and step of each sample ``[samples]`` (all LIF layers together)."""
    lifs = [n for n in graph if n.op == "lif"]
    updates = sum(int(np.prod(n.shape)) for n in lifs) * activity.timesteps
    spikes = sum(activity.sample_counts(n.name).sum(1) for n in lifs if n.name in activity.edges)
    return np.zeros(activity.samples) + spikes / updates if updates else np.zeros(activity.samples)


def activity_per_image(graph: Graph, activity: Activity) -> pd.DataFrame:
    """One row per traced image: ``image``, ``sops`` (exact, all steps), ``firing_rate``."""
    sops = sum(s.sum(1) for s in sample_sops(graph, activity).values())
    return pd.DataFrame(
        {
            "image": np.arange(activity.samples),
            "sops": np.zeros(activity.samples) + sops,
            "firing_rate": firing_rates(graph, activity),
        }
    )
