"""A network small enough to price by hand: two weighted layers, two LIF layers, T = 2."""

import numpy as np

from simulators.activity import Activity, ActivityWriter
from simulators.ir import Graph

# lif1 spikes [sample][step]: sample 0 → [1, 0], [1, 1]; sample 1 → [0, 0], [0, 1]
LIF1 = np.array([[[1, 0], [1, 1]], [[0, 0], [0, 1]]], bool)
LIF2 = np.array([[[1], [0]], [[0], [1]]], bool)


def tiny(static_input=None) -> Graph:
    """input (1, 1, 2) → 1×1 conv stem → lif1 → flatten → linear 2→1 → lif2 → output."""
    g = Graph({"timesteps": 2} | ({"static_input": static_input} if static_input else {}))
    g.add("input", "input", shape=(1, 1, 2))
    g.add("stem", "conv", ["input"], weight=np.ones((1, 1, 1, 1)))
    g.add("lif1", "lif", ["stem"], attrs={"tau": 0.25, "v_th": 0.5})
    g.add("flat", "flatten", ["lif1"])
    g.add("fc", "linear", ["flat"], attrs={"binary_input": True}, weight=np.ones((1, 2)))
    g.add("lif2", "lif", ["fc"], attrs={"tau": 0.25, "v_th": 0.5})
    g.add("output", "output", ["lif2"])
    return g.validate()


def tiny_activity(graph, path) -> Activity:
    edges = {e: graph[e].shape for e in graph.spike_edges()}
    maps = {"lif1": LIF1.reshape(2, 2, 1, 1, 2), "flat": LIF1, "lif2": LIF2}
    with ActivityWriter(path, edges, 2, {"graph_fingerprint": graph.fingerprint()}) as w:
        w.append(maps)
    return Activity.load(path)
