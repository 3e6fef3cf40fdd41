"""A graph whose layers wait for each other in a cycle is refused with one line, never run: the
closed form used to loop for ever on one, and SimPy stops quietly when its processes deadlock.
The cycle here is the one an early SEW multilevel import made: a sum of two blocks' spikes
listed with the early term first runs on the early layer, which a later layer feeds."""

import numpy as np
import pytest

from simulators.cim import dataflow, load_config, simulate
from simulators.ir import Graph, GraphError
from tests.cim.test_cim_laws import LIF, spikes


def sew_sum_graph(early_first: bool) -> Graph:
    """stem → a; block: conv1(a) → conv2 → b; conv3 reads a + b."""
    rng = np.random.default_rng(0)
    g = Graph({"timesteps": 2})
    g.add("input", "input", shape=(2, 6, 6))
    g.add("stem", "conv", ["input"], attrs={"padding": 1}, weight=rng.normal(size=(4, 2, 3, 3)))
    g.add("a", "lif", ["stem"], attrs=LIF)
    binary = {"padding": 1, "binary_input": True}
    g.add("conv1", "conv", ["a"], attrs=binary, weight=rng.normal(size=(4, 4, 3, 3)))
    g.add("s1", "lif", ["conv1"], attrs=LIF)
    g.add("conv2", "conv", ["s1"], attrs=binary, weight=rng.normal(size=(4, 4, 3, 3)))
    g.add("b", "lif", ["conv2"], attrs=LIF)
    g.add("sum", "add", ["a", "b"] if early_first else ["b", "a"])
    g.add("conv3", "conv", ["sum"], attrs={"padding": 1}, weight=rng.normal(size=(4, 4, 3, 3)))
    g.add("flat", "flatten", ["conv3"])
    g.add("output", "output", ["flat"])
    return g.validate()


def test_the_sum_runs_where_its_first_term_is_made():
    assert dataflow.hosts(sew_sum_graph(early_first=True))["sum"] == "stem"
    assert dataflow.hosts(sew_sum_graph(early_first=False))["sum"] == "conv2"


def test_a_cycle_is_refused_naming_the_layers(tmp_path):
    graph = sew_sum_graph(early_first=True)
    needs = dataflow.requirements(graph)
    with pytest.raises(GraphError, match="in a cycle.*stem waits for conv2.*list the term made"):
        dataflow.layer_order([n.name for n in graph if n.op == "conv"], needs)
    activity = spikes(graph, tmp_path / "a", 0.3)
    with pytest.raises(GraphError, match="in a cycle"):
        simulate(graph, activity, load_config("spikesim-rram-65nm"))


def test_the_term_made_last_first_runs(tmp_path):
    graph = sew_sum_graph(early_first=False)
    order = dataflow.layer_order(
        [n.name for n in graph if n.op == "conv"], dataflow.requirements(graph)
    )
    assert order.index("stem") < order.index("conv1") < order.index("conv2") < order.index("conv3")
    report = simulate(graph, spikes(graph, tmp_path / "a", 0.3), load_config("spikesim-rram-65nm"))
    s = report.summary
    assert s["closed_form_latency_cycles"] <= s["latency_cycles"]


def test_simpy_deadlock_is_an_error_not_a_short_run(tmp_path, monkeypatch):
    """With the up-front check off, the cyclic graph deadlocks SimPy's processes; the run must
    say so instead of reporting the rows that happened to finish."""
    graph = sew_sum_graph(early_first=True)
    monkeypatch.setattr(dataflow, "layer_order", lambda layers, needs: list(layers))
    with pytest.raises(RuntimeError, match="deadlocked"):
        simulate(graph, spikes(graph, tmp_path / "a", 0.3), load_config("spikesim-rram-65nm"))
