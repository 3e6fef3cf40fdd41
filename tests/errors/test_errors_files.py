"""Damaged or mismatched files (activity, IR graph, checkpoint metadata) fail at load, naming the
file and the key, edge or shape, in one line through the command line."""

import json

import numpy as np
import pytest
import torch

from rshw.models import create_model
from rshw.training import checkpoint as ckpt
from simulators import analytic, cim, gpu
from simulators.activity import Activity, ActivityError, ActivityWriter
from simulators.ir import Graph, GraphError
from tests.test_analytic import random_activity, random_graph


@pytest.fixture
def recorded(tmp_path):
    graph = random_graph(2, 5, 3, 1, 1, 2, local=False)
    activity, _ = random_activity(graph, tmp_path / "act", samples=4, density=0.3)
    return graph, activity


def _write_activity(path, graph, shapes):
    """An activity folder claiming ``graph``'s fingerprint but recording ``shapes``."""
    maps = {e: np.zeros((2, 2, *s), bool) for e, s in shapes.items()}
    with ActivityWriter(path, shapes, 2, {"graph_fingerprint": graph.fingerprint()}) as writer:
        writer.append(maps)
    return Activity.load(path)


def test_edge_shapes_that_do_not_fit_the_graph_name_the_edge(tmp_path, recorded):
    graph, _ = recorded
    shapes = {e: graph[e].shape for e in graph.spike_edges()}
    wrong = {**shapes, "lif1": (2, 4, 4)}
    activity = _write_activity(tmp_path / "wrong", graph, wrong)
    message = r"edge 'lif1' was recorded as \(2, 4, 4\), but the graph's 'lif1' is \(2, 5, 5\)"
    for model in (analytic, gpu):  # both ran on silently before
        with pytest.raises(ActivityError, match=message):
            model.simulate(graph, activity)
    missing = {e: s for e, s in shapes.items() if e != "lif2"}
    activity = _write_activity(tmp_path / "missing", graph, missing)
    with pytest.raises(ActivityError, match="no spikes for edge 'lif2'"):
        analytic.simulate(graph, activity)


def _pooled_graph() -> Graph:
    """conv -> LIF -> 2x2 max pool of spikes -> flatten -> linear -> LIF."""
    rng = np.random.default_rng(0)
    g = Graph({"timesteps": 2})
    g.add("input", "input", shape=(2, 4, 4))
    g.add("stem", "conv", ["input"], attrs={"padding": 1}, weight=rng.normal(size=(2, 2, 3, 3)))
    g.add("lif1", "lif", ["stem"], attrs={"tau": 0.5, "v_th": 1.0})
    g.add("pool", "maxpool", ["lif1"], attrs={"kernel": 2})
    g.add("flat", "flatten", ["pool"])
    g.add("fc", "linear", ["flat"], attrs={"binary_input": True}, weight=rng.normal(size=(3, 8)))
    g.add("lif2", "lif", ["fc"], attrs={"tau": 0.5, "v_th": 1.0})
    g.add("output", "output", ["lif2"])
    return g.validate()


@pytest.mark.parametrize(
    "run",
    [
        lambda g, a: analytic.simulate(g, a),
        lambda g, a: cim.simulate(g, a),
        lambda g, a: cim.simulate(g, a, mode="dense"),
        lambda g, a: gpu.simulate(g, a),
        lambda g, a: gpu.simulate(g, a, execution="event"),
    ],
    ids=["analytic", "cim-event", "cim-dense", "gpu-dense", "gpu-event"],
)
def test_a_pooled_edge_at_half_the_graphs_size_is_refused_by_every_model(tmp_path, run):
    graph = _pooled_graph()
    shapes = {e: graph[e].shape for e in graph.spike_edges()}
    assert shapes["pool"] == (2, 2, 2)
    activity = _write_activity(tmp_path / "act", graph, {**shapes, "pool": (2, 1, 1)})
    with pytest.raises(ActivityError) as error:
        run(graph, activity)
    message = str(error.value)
    assert "\n" not in message
    assert "edge 'pool' was recorded as (2, 1, 1), but the graph's 'pool' is (2, 2, 2)" in message
    assert message.endswith("trace it again")


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.5, 0.95])
def test_truncated_counts_name_the_file(recorded, fraction):
    _, activity = recorded
    counts = activity.path / "counts.npz"
    data = counts.read_bytes()
    counts.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ActivityError, match=rf"{counts} is not readable.*trace again"):
        Activity.load(activity.path)


def test_truncated_chunk_names_the_file(recorded):
    _, activity = recorded
    chunk = activity.path / "chunk_00000.npz"
    chunk.write_bytes(chunk.read_bytes()[:100])
    with pytest.raises(ActivityError, match=rf"{chunk} is not readable"):
        activity.maps("lif1")


def _edit_json(path, edit):
    header = json.loads(path.read_text())
    edit(header)
    path.write_text(json.dumps(header))


def test_activity_header_and_counts_disagreeing(recorded):
    _, activity = recorded
    header = activity.path / "header.json"
    _edit_json(header, lambda h: h["edges"].update(lif1=[2, 5, 6]))
    with pytest.raises(
        ActivityError, match=r"'position/lif1' has shape \(2, 2, 5, 5\).*\(2, 2, 5, 6\)"
    ):
        Activity.load(activity.path)
    _edit_json(header, lambda h: h.pop("samples"))
    with pytest.raises(ActivityError, match=rf"{header} lacks samples"):
        Activity.load(activity.path)
    header.write_text("{not json")
    with pytest.raises(ActivityError, match=rf"{header} is not readable JSON"):
        Activity.load(activity.path)


def _graph_file(tmp_path, edit):
    path = random_graph(2, 5, 3, 1, 1, 2, local=False).save(tmp_path / "g.npz")
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(arrays["header"].tobytes())
    edit(header)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda h: h.pop("nodes"), "the header lacks 'nodes' (a list)"),
        (lambda h: h.pop("meta"), "the header lacks 'meta' (a dict)"),
        (lambda h: h["nodes"][1].pop("name"), "node 'number 1' lacks 'name' (a str)"),
        (lambda h: h["nodes"][2].pop("attrs"), "node 'lif1' lacks 'attrs' (a dict)"),
        (lambda h: h["nodes"].__setitem__(0, 7), "node 0 of the header is not an object"),
    ],
)
def test_ir_header_without_a_key(tmp_path, edit, message, cli, one_line):
    path = _graph_file(tmp_path, edit)
    with pytest.raises(GraphError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Graph.load(path)
    code, out, err = cli("trace", path, "--out", tmp_path / "act")
    assert code == 2 and out == "" and not (tmp_path / "act").exists()
    one_line(err, "rshw trace: error:", str(path), message)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = create_model("scnn", realspike="channel", timesteps=2, in_channels=3, input_size=32)
    return ckpt.save_checkpoint(tmp_path / "c", model, {"dataset": {"name": "cifar10-sample"}})


@pytest.mark.parametrize(
    ("edit", "missing"),
    [
        (lambda m: m.pop("weights_sha256"), "weights_sha256"),
        (lambda m: m["model"].pop("realspike"), "model.realspike"),
        (lambda m: m["model"].pop("name"), "model.name"),
    ],
)
def test_checkpoint_metadata_without_a_key(saved, edit, missing, cli, one_line):
    _edit_json(saved.with_suffix(".json"), edit)
    with pytest.raises(ckpt.CheckpointError, match=f"lacks {missing}"):
        ckpt.read_metadata(saved)
    for command in ("eval", "ship"):  # eval accepted a missing checksum before
        code, out, err = cli(command, saved)
        assert code == 2 and out == ""
        one_line(err, f"rshw {command}: error:", str(saved.with_suffix(".json")), missing)


def test_checkpoint_metadata_without_a_model_object(saved):
    _edit_json(saved.with_suffix(".json"), lambda m: m.pop("model"))
    with pytest.raises(ckpt.CheckpointError, match='lacks the "model" object'):
        ckpt.read_metadata(saved)


def test_eval_of_a_checkpoint_that_names_no_dataset(saved, cli, one_line):
    _edit_json(saved.with_suffix(".json"), lambda m: m.pop("dataset"))
    code, out, err = cli("eval", saved)
    assert code == 2 and out == ""
    one_line(err, "names no dataset; pass --dataset")


@pytest.mark.parametrize("name", ["model.pt", "weights.PTH", "run.ckpt"])
def test_pickle_checkpoints_are_never_loaded(tmp_path, name, cli, one_line):
    path = tmp_path / name
    path.write_bytes(b"\x80\x04pickled")
    code, out, err = cli("eval", path)
    assert code == 2 and out == ""
    one_line(err, str(path), "never loads pickles", "docs/errors.md")


def test_eval_on_a_dataset_the_model_does_not_fit(saved, tmp_path, cli, one_line):
    rng = np.random.default_rng(0)
    images = {
        f"x_{s}": rng.integers(0, 255, (10, 28, 28), dtype=np.uint8) for s in ("train", "test")
    }
    labels = {f"y_{s}": np.arange(10) for s in ("train", "test")}
    np.savez(tmp_path / "mnist.npz", **images, **labels)
    code, out, err = cli("eval", saved, "--dataset", "mnist", "--data", tmp_path / "mnist.npz")
    assert code == 2 and out == ""
    one_line(err, f"'mnist' does not fit {saved}", "in_channels 1 (model 3)", "(28, 28)")
