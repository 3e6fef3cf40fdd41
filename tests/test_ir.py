import json

import numpy as np
import pytest

from simulators import executor
from simulators.ir import Graph, GraphError


def tiny_graph(local: bool = False) -> Graph:
    rng = np.random.default_rng(0)
    g = Graph({"timesteps": 3})
    g.add("input", "input", shape=(2, 6, 6), attrs={"encoding": "static"})
    g.add(
        "stem",
        "conv",
        ["input"],
        attrs={"stride": 1, "padding": 1},
        weight=rng.normal(0.3, 0.5, (4, 2, 3, 3)),
        bias=np.full(4, 0.2),
    )
    g.add("lif1", "lif", ["stem"], attrs={"tau": 0.25, "v_th": 0.5, "reset": "zero"})
    arrays = {"weight": rng.normal(0.2, 0.4, (3, 4, 3, 3))}
    if local:
        arrays["in_scale"] = rng.uniform(0.5, 1.5, (4, 6, 6))
    g.add(
        "conv2",
        "local" if local else "conv",
        ["lif1"],
        attrs={"stride": 2, "padding": 1, "binary_input": True},
        **arrays,
    )
    g.add("lif2", "lif", ["conv2"], attrs={"tau": 0.25, "v_th": 0.5, "reset": "zero"})
    g.add("flat", "flatten", ["lif2"])
    g.add("fc", "linear", ["flat"], attrs={"binary_input": True}, weight=rng.normal(0, 1, (5, 27)))
    g.add("output", "output", ["fc"], attrs={"reduce": "mean"})
    return g.validate()


def test_shapes_are_inferred_and_spike_edges_found():
    g = tiny_graph(local=True)
    assert g["conv2"].shape == (3, 3, 3) and g["flat"].shape == (27,)
    assert g.spike_edges() == ["lif1", "lif2", "flat"]
    assert g["conv2"].weight_count == 3 * 4 * 9 * 9


@pytest.mark.parametrize("local", [False, True])
def test_save_load_round_trip_keeps_outputs(tmp_path, local):
    g = tiny_graph(local)
    path = g.save(tmp_path / "g.npz")
    loaded = Graph.load(path)
    assert loaded.fingerprint() == g.fingerprint()
    x = np.random.default_rng(1).normal(size=(4, 2, 6, 6))
    a, b = executor.run(g, x, dtype=np.float64), executor.run(loaded, x, dtype=np.float64)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_executor_matches_hand_computed_single_neuron():
    g = Graph({"timesteps": 4})
    g.add("input", "input", shape=(1,))
    g.add("fc", "linear", ["input"], weight=np.array([[0.3]]))
    g.add("lif", "lif", ["fc"], attrs={"tau": 0.25, "v_th": 0.5})
    g.add("out", "linear", ["lif"], attrs={"binary_input": True}, weight=np.array([[2.0]]))
    g.add("output", "output", ["out"])
    res = executor.run(
        g.validate(), np.array([[1.0]]), dtype=np.float64, keep="all", potentials=True
    )
    np.testing.assert_allclose(res["lif:u"][:, 0, 0], [0.3, 0.375, 0.39375, 0.3984375])
    assert res["lif"].sum() == 0
    assert res["output"][0, 0] == 0.0


def test_inconsistent_graphs_give_clear_errors():
    g = tiny_graph()
    with pytest.raises(GraphError, match="already exists"):
        g.add("lif1", "lif", ["stem"], attrs={"tau": 0.25, "v_th": 0.5})
    with pytest.raises(GraphError, match="'nope' is not defined before it"):
        g.add("x", "lif", ["nope"], attrs={"tau": 0.25, "v_th": 0.5})
    with pytest.raises(GraphError, match="unknown op"):
        g.add("x", "softmax", ["fc"])
    with pytest.raises(GraphError, match="does not take 4 input channels"):
        g.add("x", "conv", ["lif1"], weight=np.zeros((2, 3, 1, 1)))
    with pytest.raises(GraphError, match="claims binary-spike input but 'stem'"):
        g.add("x", "conv", ["stem"], attrs={"binary_input": True}, weight=np.zeros((2, 4, 1, 1)))
    with pytest.raises(GraphError, match="different shapes"):
        g.add("x", "add", ["lif1", "lif2"])
    with pytest.raises(GraphError, match="missing array 'in_scale'"):
        g.add("x", "local", ["lif1"], weight=np.zeros((2, 4, 1, 1)))
    with pytest.raises(GraphError, match="only reset='zero'"):
        g.add("x", "lif", ["fc"], attrs={"tau": 0.25, "v_th": 0.5, "reset": "subtract"})
    g["conv2"].shape = (3, 4, 4)
    with pytest.raises(GraphError, match=r"stored shape \(3, 4, 4\) but inputs give \(3, 3, 3\)"):
        g.validate()


def test_corrupted_and_foreign_files(tmp_path):
    path = tiny_graph().save(tmp_path / "g.npz")
    data = bytearray(path.read_bytes())
    (tmp_path / "cut.npz").write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(GraphError, match="not a readable IR file"):
        Graph.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", header=np.frombuffer(json.dumps({"a": 1}).encode(), np.uint8))
    with pytest.raises(GraphError, match="not an rshw IR file"):
        Graph.load(tmp_path / "other.npz")
    with pytest.raises(GraphError, match="no IR graph at"):
        Graph.load(tmp_path / "missing.npz")
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(arrays["header"].tobytes())
    header["nodes"][3]["shape"] = [3, 2, 2]
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(GraphError, match="node 'conv2'.*stored shape"):
        Graph.load(tmp_path / "bad.npz")


def test_bad_executor_input():
    with pytest.raises(ValueError, match=r"expected \[N, \(2, 6, 6\)\]"):
        executor.run(tiny_graph(), np.zeros((1, 3, 6, 6)))
