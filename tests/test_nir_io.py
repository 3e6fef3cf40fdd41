"""NIR exchange: IR → NIR → IR restores the graph spike for spike; unsupported NIR is refused."""

import re

import nir
import numpy as np
import pytest

from rshw.models import create_model
from rshw.pipeline.reparam import reparameterize
from rshw.training.calibrate import randomize_for_checks as randomize
from simulators import executor
from simulators.ir import Graph, GraphError
from simulators.nir_io import from_nir, read_nir, to_nir, write_nir

ZOO = [
    *[("scnn", g, {}) for g in ("none", "layer", "channel", "element")],
    *[("resnet19", g, {"timesteps": 2, "input_size": 8}) for g in ("channel", "element")],
]


def run(graph: Graph, x: np.ndarray) -> dict[str, np.ndarray]:
    return executor.run(graph, x, dtype=np.float64)


def assert_same_run(expected: dict[str, np.ndarray], graph: Graph, x: np.ndarray) -> None:
    """Identical spikes at every LIF and identical outputs, in float64."""
    outputs = run(graph, x)
    assert outputs.keys() == expected.keys()
    for name, values in expected.items():
        np.testing.assert_array_equal(outputs[name], values, err_msg=name)


def assert_same_graph(graph: Graph, other: Graph) -> None:
    """Same nodes in the same order, with equal parameters (up to int-vs-pair attributes)."""
    assert [(n.name, n.op, n.inputs, n.shape) for n in other] == [
        (n.name, n.op, n.inputs, n.shape) for n in graph
    ]
    assert other.meta == graph.meta
    for node in graph:
        twin = other[node.name]
        assert twin.arrays.keys() == node.arrays.keys(), node.name
        for key, array in node.arrays.items():
            np.testing.assert_array_equal(np.broadcast_to(twin.arrays[key], array.shape), array)
        for key, value in node.attrs.items():
            restored = twin.attrs[key]  # an int may come back as the equal pair
            assert np.array_equal(np.broadcast_to(value, np.shape(restored)), restored), key


@pytest.mark.parametrize(("name", "granularity", "options"), ZOO)
def test_zoo_round_trip(tmp_path, name, granularity, options):
    graph = reparameterize(
        randomize(create_model(name, realspike=granularity, **options)), np.float64
    )
    x = np.random.default_rng(1).standard_normal((2, *graph.input.shape))
    expected = run(graph, x)
    rates = [s.mean() for k, s in expected.items() if k != "output"]
    assert 0.05 < np.mean(rates) < 0.9, "degenerate activity makes the comparison vacuous"

    nir_graph = to_nir(graph, dt=1e-3)
    kinds = {type(n).__name__ for n in nir_graph.nodes.values()}
    assert "LIF" in kinds and ("SumPool2d" in kinds) == (name == "scnn")
    assert not [n for n in graph if n.op == "add" and n.name in nir_graph.nodes], "adds inlined"
    for restored in (
        from_nir(nir_graph, dt=1e-3),
        read_nir(write_nir(graph, tmp_path / "m.nir", 1e-3), dt=1e-3),
    ):
        assert_same_graph(graph, restored)
        assert_same_run(expected, restored, x)


def small_graph(tau: float = 0.25, v_th: float = 0.5) -> Graph:
    """input → conv → LIF → maxpool → flatten → linear → output, with random weights."""
    rng = np.random.default_rng(0)
    g = Graph({"timesteps": 3})
    g.add("input", "input", shape=(2, 6, 6), attrs={"encoding": "static"})
    g.add("conv", "conv", ["input"], attrs={"padding": 1}, weight=rng.normal(size=(3, 2, 3, 3)))
    g.add("lif", "lif", ["conv"], attrs={"tau": tau, "v_th": v_th, "reset": "zero"})
    g.add("pool", "maxpool", ["lif"], attrs={"kernel": 2})
    g.add("flat", "flatten", ["pool"])
    g.add("fc", "linear", ["flat"], attrs={"binary_input": True}, weight=rng.normal(size=(4, 27)))
    g.add("output", "output", ["fc"], attrs={"reduce": "mean"})
    return g.validate()


@pytest.mark.parametrize(
    ("tau", "v_th", "dt"),
    [(0.25, 0.5, 1.0), (0.3, 0.7, 1e-3), (0.9, 1.0, 1e-4), (0.0, 0.2, 0.5), (0.61803, 0.5, 0.1)],
)
def test_lif_mapping_round_trips_exactly(tmp_path, tau, v_th, dt):
    graph = small_graph(tau, v_th)
    lif = to_nir(graph, dt).nodes["lif"]
    assert isinstance(lif, nir.LIF)
    np.testing.assert_allclose(1 - dt / lif.tau, tau, atol=1e-12)  # decay per step
    np.testing.assert_allclose(dt * lif.r / lif.tau, 1, rtol=1e-12)  # input gain
    assert not lif.v_leak.any() and not lif.v_reset.any() and np.all(lif.v_threshold == v_th)
    for restored in (
        from_nir(to_nir(graph, dt), dt),
        read_nir(write_nir(graph, tmp_path / "g.nir", dt), dt),
    ):
        assert restored["lif"].attrs == {"tau": tau, "v_th": v_th, "reset": "zero"}
        assert [n.name for n in restored] == [n.name for n in graph]

    foreign = to_nir(graph, dt)
    foreign.nodes["lif"].metadata = {}  # another tool's LIF: the Euler inverse, to rounding
    assert from_nir(foreign, dt)["lif"].attrs["tau"] == pytest.approx(tau, abs=1e-12)
    edited = to_nir(graph, dt)
    edited.nodes["lif"].tau = edited.nodes["lif"].tau * 2  # a stale exact tau is ignored
    restored = from_nir(edited, dt)
    assert restored["lif"].attrs["tau"] == pytest.approx(1 - dt / (2 * lif.tau[0, 0, 0]))
    assert restored["lif.gain"].arrays["scale"] == pytest.approx(0.5)


def test_tau_one_exports_as_if():
    graph = small_graph(tau=1.0)
    nir_graph = to_nir(graph, dt=1e-3)
    assert isinstance(nir_graph.nodes["lif"], nir.IF)
    restored = from_nir(nir_graph, dt=1e-3)
    assert restored["lif"].attrs["tau"] == 1.0 and "lif.gain" not in restored.nodes
    x = np.random.default_rng(2).standard_normal((2, 2, 6, 6))
    assert_same_run(run(graph, x), restored, x)


def neuron_graph(neuron: nir.NIRNode) -> nir.NIRGraph:
    """Input(4) → Affine → neuron → Output."""
    weight = np.random.default_rng(3).normal(size=(4, 4))
    nodes = {
        "input": nir.Input(np.array([4])),
        "fc": nir.Affine(weight, np.full(4, 0.1)),
        "neuron": neuron,
        "output": nir.Output(np.array([4])),
    }
    return nir.NIRGraph(nodes, [("input", "fc"), ("fc", "neuron"), ("neuron", "output")])


def simulate(x: np.ndarray, tau: float, gain: float, v_th: float) -> np.ndarray:
    """Reference: ``u = tau·u·(1 − o) + gain·x``, spike where ``u >= v_th``, over ``x[T, N, F]``."""
    u, o, out = np.zeros_like(x[0]), np.zeros_like(x[0]), []
    for xt in x:
        u = tau * u * (1 - o) + gain * xt
        o = (u >= v_th).astype(x.dtype)
        out.append(o)
    return np.stack(out)


def full(value: float) -> np.ndarray:
    return np.full(4, value)


@pytest.mark.parametrize(
    ("neuron", "tau", "gain"),
    [
        (nir.IF(r=full(2.0), v_threshold=full(0.5)), 1.0, 2.0),
        (nir.IF(r=full(1.0), v_threshold=full(0.5)), 1.0, 1.0),
        # snnTorch's Synaptic with alpha = 0, beta = 0.5: tau_syn = dt, w_in = tau_syn / dt
        (
            nir.CubaLIF(
                tau_syn=full(1.0),
                tau_mem=full(2.0),
                r=full(2.0),
                v_leak=full(0.0),
                v_threshold=full(0.5),
                w_in=full(1.5),
            ),
            0.5,
            1.5,
        ),
    ],
)
def test_if_and_reducible_cubalif_import(neuron, tau, gain):
    graph = from_nir(neuron_graph(neuron), dt=1.0, timesteps=5)
    lif = graph["neuron"]
    assert lif.op == "lif" and lif.attrs["tau"] == tau and lif.attrs["v_th"] == 0.5
    assert ("neuron.gain" in graph.nodes) == (gain != 1)
    x = np.random.default_rng(4).standard_normal((5, 3, 4))
    spikes = run(graph, x)["neuron"]
    fc = graph["fc"].arrays
    np.testing.assert_array_equal(spikes, simulate(x @ fc["weight"].T + fc["bias"], tau, gain, 0.5))


def lif(**overrides) -> nir.LIF:
    params = {"tau": full(2.0), "r": full(2.0), "v_leak": full(0.0), "v_threshold": full(0.5)}
    return nir.LIF(**{**params, **overrides})


@pytest.mark.parametrize(
    ("neuron", "message"),
    [
        (
            nir.CubaLIF(
                tau_syn=full(5.0),
                tau_mem=full(2.0),
                r=full(2.0),
                v_leak=full(0.0),
                v_threshold=full(0.5),
            ),
            "tau_syn = 5.0",
        ),
        (nir.LI(tau=full(2.0), r=full(2.0), v_leak=full(0.0)), "unsupported type LI; supported:"),
        (nir.Delay(delay=full(1.0)), "unsupported type Delay"),
        (lif(tau=np.array([2.0, 2.0, 3.0, 2.0])), "'tau' must be the same for every neuron"),
        (lif(v_leak=full(0.1)), "only v_leak = 0"),
        (lif(v_reset=full(-0.1)), "only v_reset = 0"),
        (lif(tau=full(0.5)), "must be >= dt"),
        (nir.Threshold(full(0.5)), "only as the pair"),
    ],
)
def test_unsupported_nir_is_refused(neuron, message):
    with pytest.raises(GraphError, match=re.escape(message)) as error:
        from_nir(neuron_graph(neuron), dt=1.0)
    assert "'neuron'" in str(error.value)


def test_maxpool_of_real_values_is_refused():
    g = Graph({"timesteps": 2})
    g.add("input", "input", shape=(1, 4, 4), attrs={"encoding": "static"})
    g.add("pool", "maxpool", ["input"], attrs={"kernel": 2})
    g.add("output", "output", ["pool"], attrs={"reduce": "mean"})
    with pytest.raises(GraphError, match=r"'pool' \(maxpool\).*not binary spikes"):
        to_nir(g)


def test_sum_feeding_several_nodes_becomes_an_identity_scale():
    """``s = a + b`` read by two LIFs, and a sum read by the output: explicit ``Scale(1)`` nodes."""
    rng = np.random.default_rng(5)
    g = Graph({"timesteps": 3})
    g.add("input", "input", shape=(1, 4, 4), attrs={"encoding": "static"})
    g.add("a", "conv", ["input"], attrs={"padding": 1}, weight=rng.normal(size=(2, 1, 3, 3)))
    g.add("b", "conv", ["input"], weight=rng.normal(size=(2, 1, 1, 1)), bias=np.ones(2))
    g.add("s", "add", ["a", "b"])
    g.add("lif1", "lif", ["s"], attrs={"tau": 0.5, "v_th": 0.3})
    g.add("lif2", "lif", ["s"], attrs={"tau": 0.2, "v_th": 0.6})
    g.add("scaled", "scale", ["lif2"], scale=np.array([0.5, 2.0]).reshape(2, 1, 1))
    g.add("t", "add", ["lif1", "scaled"])
    g.add("output", "output", ["t"], attrs={"reduce": "mean"})
    nir_graph = to_nir(g.validate())
    for name in ("s", "t"):
        assert isinstance(nir_graph.nodes[name], nir.Scale)
        assert np.all(nir_graph.nodes[name].scale == 1)
    restored = from_nir(nir_graph)
    assert_same_graph(g, restored)
    x = rng.standard_normal((2, 1, 4, 4))
    assert_same_run(run(g, x), restored, x)


@pytest.mark.parametrize("varies", [False, True])
def test_scale_before_conv_is_local_only_where_it_varies_over_positions(varies):
    """A per-channel Scale → Conv2d stays a scale then a conv; a per-position one is ``local``."""
    graph = small_graph()
    nir_graph = to_nir(graph)
    rng = np.random.default_rng(6)
    scale = rng.uniform(0.5, 1.5, (3, 3, 3) if varies else (3, 1, 1))
    nodes = dict(nir_graph.nodes)
    nodes["s"] = nir.Scale(np.broadcast_to(scale, (3, 3, 3)).copy())
    nodes["conv2"] = nir.Conv2d((3, 3), rng.normal(size=(3, 3, 1, 1)), 1, 0, 1, 1, np.ones(3))
    edges = [e for e in nir_graph.edges if e != ("pool", "flat")]
    edges += [("pool", "s"), ("s", "conv2"), ("conv2", "flat")]
    restored = from_nir(nir.NIRGraph(nodes, edges, metadata=nir_graph.metadata))
    assert restored["conv2"].op == ("local" if varies else "conv")
    assert restored["conv2"].attrs["binary_input"] == varies
    assert ("s" in restored.nodes) != varies
    if not varies:
        np.testing.assert_array_equal(restored["s"].arrays["scale"], scale)
    assert_same_graph(restored, from_nir(to_nir(restored)))


def test_read_nir_explains_bad_files(tmp_path):
    with pytest.raises(GraphError, match="no NIR file"):
        read_nir(tmp_path / "missing.nir")
    (tmp_path / "junk.nir").write_bytes(b"not hdf5")
    with pytest.raises(GraphError, match="not a readable NIR file"):
        read_nir(tmp_path / "junk.nir")
    with pytest.raises(ValueError, match="dt must be > 0"):
        to_nir(small_graph(), dt=0)


def test_timesteps_override_and_metadata_survive_a_file(tmp_path):
    graph = small_graph()
    restored = read_nir(write_nir(graph, tmp_path / "sub" / "g.nir"), timesteps=7)
    assert restored.meta == {"timesteps": 7}
    assert restored.input.attrs == {"encoding": "static"}
    assert restored.output.attrs == {"reduce": "mean"}
