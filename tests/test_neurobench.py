"""NeuroBench-style counts, priced by hand on networks small enough to count on paper."""

import numpy as np
import pytest

from simulators.activity import Activity, ActivityWriter
from simulators.analytic.neurobench import neurobench_counts, padding_taps
from simulators.ir import Graph
from tests.tiny_network import tiny, tiny_activity


def test_tiny_network_by_hand(tmp_path):
    """lif1 fires 4 spikes over 2 samples × 2 steps, lif2 2; every weight is 1."""
    graph = tiny()
    counts = neurobench_counts(graph, tiny_activity(graph, tmp_path / "a"))
    assert counts["effective_acs"] == 4 / 2  # each lif1 spike drives one fc synapse
    assert counts["effective_macs"] == 2 * 2  # the stem's 2 synapses at both steps
    assert counts["dense"] == 2 * (2 + 2)  # stem and fc, every step
    assert counts["activation_sparsity"] == 1 - 6 / ((2 + 1) * 2 * 2)
    assert counts["parameters"] == 3 and counts["footprint_bytes"] == 12


def test_zero_weights_are_skipped(tmp_path):
    graph = tiny()
    graph["fc"].arrays["weight"] = np.array([[1.0, 0.0]])
    counts = neurobench_counts(graph, tiny_activity(graph, tmp_path / "a"))
    assert counts["effective_acs"] == 2 / 2  # only neuron 0's spikes (2, in sample 0) count


def conv_graph(op: str) -> Graph:
    g = Graph({"timesteps": 2})
    g.add("input", "input", shape=(1, 4, 4), attrs={"encoding": "events"})
    g.add("lif", "lif", ["input"], attrs={"tau": 0.0, "v_th": 0.5})
    weight = np.ones((1, 1, 3, 3))
    weight[0, 0, 0, 0] = 0  # the top-left tap
    extra = {"in_scale": np.ones((1, 4, 4))} if op == "local" else {}
    attrs = {"padding": 1, "binary_input": True}
    g.add("conv", op, ["lif"], attrs=attrs, weight=weight, **extra)
    g.add("output", "output", ["conv"])
    return g.validate()


@pytest.mark.parametrize("op", ["conv", "local"])
def test_conv_fan_out_respects_borders_and_zero_taps(op, tmp_path):
    """A spike at the corner (0, 0) reaches outputs (0,0), (0,1), (1,0), (1,1) through taps
    (1,1), (1,0), (0,1), (0,0): 3 nonzero. One at (1, 1) reaches all 9 outputs around it; output
    (2, 2) reads it through the zero tap (0, 0): 8."""
    graph = conv_graph(op)
    maps = np.zeros((1, 2, 1, 4, 4), bool)
    maps[0, 0, 0, 0, 0] = maps[0, 1, 0, 1, 1] = True
    with ActivityWriter(tmp_path / "a", {"lif": (1, 4, 4)}, 2) as w:
        w.append({"lif": maps})
    counts = neurobench_counts(graph, Activity.load(tmp_path / "a"))
    assert counts["effective_acs"] == 3 + 8
    assert counts["dense"] == 2 * (2 + 3 + 3 + 2) ** 2  # taps on real inputs, both steps


def test_padding_taps_of_an_unshared_layer():
    """4×4 input, 3×3 kernel, padding 1: each corner output has 5 taps on padding, each of the 8
    other border outputs 3: 44 of the 144 stored per-position taps."""
    graph = conv_graph("local")
    assert graph["conv"].weight_count == 144
    assert padding_taps(graph, graph["conv"]) == 4 * 5 + 8 * 3
