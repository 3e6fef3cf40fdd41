"""SpikingJelly and snnTorch networks import, folded, and reproduce the frameworks' own spikes.

The fixtures (tests/fixtures/importers/, written by make_fixtures.py there with SpikingJelly
2.0.0 and snnTorch 1.0.0 installed apart) hold each network's module description, its weights,
and the spikes the framework itself recorded at every spiking module and step, in float32 and
float64, on the cifar10-sample images that `rshw simulate --images 4 --seed 0` traces. Nothing
here needs either framework.
"""

import json
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from torch import nn

from rshw.cli import main
from rshw.errors import CheckpointError
from rshw.importers import (
    ImportRefused,
    describe,
    import_module,
    load_description,
    lower,
    save_description,
)
from rshw.importers.sew_checkpoint import remap_sew_resnet
from simulators import executor

FIXTURES = Path(__file__).parent / "fixtures" / "importers"
NAMES = ["sj_sew_add", "sj_sew_and", "sj_tdbn", "snn_cnn"]
WIDTHS = {"f32": np.float32, "f64": np.float64}


def fixture(name: str):
    description, state = load_description(FIXTURES / name)
    data = np.load(FIXTURES / f"{name}.npz")
    return description, state, {k: data[k] for k in data.files}


@pytest.mark.parametrize("sew", ["split", "multilevel"])
@pytest.mark.parametrize("width", ["f32", "f64"])
@pytest.mark.parametrize("name", NAMES)
def test_every_spiking_layer_matches_the_framework_at_every_step(name, width, sew):
    description, state, data = fixture(name)
    x, dtype = data["x"], WIDTHS[width]
    graph = lower(description, state, x.shape[1:], 4, dtype, sew=sew)
    out = executor.run(graph, x, dtype=dtype)
    recorded = sorted(k[4:] for k in data if k.startswith(f"{width}:") and k != f"{width}:output")
    assert recorded == sorted(n.name for n in graph if n.op == "lif")  # every spiking layer
    for layer in recorded:
        framework = data[f"{width}:{layer}"]
        assert 0.05 <= framework.mean() <= 0.8, f"{layer}: degenerate activity, vacuous test"
        np.testing.assert_array_equal(out[layer], framework, err_msg=layer)
    tol = 1e-6 if width == "f32" else 1e-12
    np.testing.assert_allclose(out["output"], data[f"{width}:output"], rtol=0, atol=tol)


def test_sew_add_split_gives_every_layer_binary_input_with_one_kernel_copy_per_term():
    """SEW ADD: block 3 reads the stem's spikes (1 term) and outputs 2 terms (identity + sn2),
    block 4 reads 2 and outputs 3, block 5 (downsample) reads 3 in conv1 and downsample."""
    description, state, data = fixture("sj_sew_add")
    graph = lower(description, state, data["x"].shape[1:], 4, sew="split")
    copies = {
        layer: sum(1 for n in graph if n.name.startswith(f"{layer}.term"))
        for layer in ("4.conv1", "5.conv1", "5.downsample.0")
    }
    assert copies == {"4.conv1": 2, "5.conv1": 3, "5.downsample.0": 3}
    weighted = [n for n in graph if n.op in ("conv", "linear")]
    not_binary = sorted(n.name for n in weighted if not n.attrs["binary_input"])
    assert not_binary == ["0", "8"]  # the stem (image) and the classifier (after the avg pool)
    multilevel = lower(description, state, data["x"].shape[1:], 4, sew="multilevel")
    assert not multilevel["4.conv1"].attrs["binary_input"]  # reads 0/1/2 sums: MACs
    assert multilevel["4.conv1"].weight_count * 2 == sum(
        graph[f"4.conv1.term{i}"].weight_count for i in range(2)
    )


def test_multilevel_sums_run_where_their_last_term_is_made_once_per_stage():
    """Each node runs on the layer of its first input (simulators/cim/dataflow.py): a sum of
    blocks' spikes must start from the term made last, or the stem's layer would wait for a
    block that waits for the stem. A stage's conv1 and downsample read one sum node."""
    from simulators.cim import dataflow

    description, state, data = fixture("sj_sew_add")
    graph = lower(description, state, data["x"].shape[1:], 4, sew="multilevel")
    host = dataflow.hosts(graph)
    sums = [n for n in graph if n.op == "add"]
    assert {host[n.name] for n in sums} == {"3.conv2", "4.conv2", "5.downsample.0"}
    assert graph["5.conv1"].inputs == graph["5.downsample.0"].inputs
    conv = [n.name for n in graph if n.op in ("conv", "linear")]
    order = dataflow.layer_order(conv, dataflow.requirements(graph))  # no cycle
    assert order.index("3.conv2") < order.index("4.conv1") < order.index("5.conv1")


def test_multilevel_sew_runs_on_every_hardware_model(tmp_path, monkeypatch, capsys):
    """The CIM run of ``--sew multilevel`` used to hang (a dependency cycle in the chip's
    dataflow); it now finishes, and the real-valued inputs cost it more than ``split``. Its
    multi-level layers are slower than the stem, so streamed images queue: the closed form
    predicts it, the simulated latencies show it, and the printed table says so."""
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache"))
    model = str(FIXTURES / "sj_sew_add.json")
    energy, queued, printed = {}, {}, {}
    for sew in ("split", "multilevel"):
        out = tmp_path / sew
        argv = ["simulate", "--model", model, "--sew", sew, "--images", "3", "-T", "4"]
        capsys.readouterr()
        assert main([*argv, "--hw", "analytic,cim,gpu", "--out", str(out)]) == 0
        printed[sew] = capsys.readouterr().out
        summary = pd.read_csv(out / "summary.csv").set_index("hardware")
        assert {"analytic", "cim", "gpu batch=1"} <= set(summary.index)
        energy[sew] = summary.loc["cim", "energy_uj"]
        queued[sew] = bool(summary.loc["cim", "streamed_images_queue"])
        latency = pd.read_csv(out / "report-cim.per_image.csv")["latency_s"].to_numpy()
        grows = latency[1:] > 1.2 * latency[:-1]
        assert grows.all() if queued[sew] else not grows.any()
    assert energy["multilevel"] > energy["split"]  # 8 bit-serial read passes per real input
    assert queued == {"split": False, "multilevel": True}
    assert "streamed images queue" in printed["multilevel"]
    assert "streamed images queue" not in printed["split"]


def test_and_iand_are_threshold_units_on_spikes():
    description, state, data = fixture("sj_sew_and")
    graph = lower(description, state, data["x"].shape[1:], 4)
    for name, v_th in (("3.and", 1.5), ("4.iand", 0.5)):
        node = graph[name]
        assert node.op == "lif" and node.attrs["tau"] == 0 and node.attrs["v_th"] == v_th


def _lif(cls: str, **attrs):
    base = {"tau": 2.0, "decay_input": True, "v_threshold": 1.0, "v_reset": 0.0}
    return {"class": cls, "attrs": {**base, **attrs}, "children": []}


def _net(*children):
    return {
        "class": "Sequential",
        "attrs": {},
        "children": [[str(i), c] for i, c in enumerate(children)],
    }


LINEAR = {"class": "Linear", "attrs": {}, "children": []}
STATE = {"0.weight": np.ones((3, 4)), "0.bias": np.zeros(3)}


@pytest.mark.parametrize(
    ("layer", "state", "says"),
    [
        (_lif("LIFNode", v_reset=None), {}, "1 (LIFNode): soft reset"),
        (_lif("LIFNode", v_reset=0.5), {}, "1 (LIFNode): v_reset=0.5"),
        (
            {"class": "Leaky", "attrs": {"reset_mechanism": "subtract"}, "children": []},
            {"1.beta": np.array(0.9), "1.threshold": np.array(1.0)},
            "1 (Leaky): reset_mechanism='subtract'",
        ),
        (
            {"class": "Leaky", "attrs": {"reset_mechanism": "zero"}, "children": []},
            {"1.beta": np.array([0.9, 0.8, 0.9]), "1.threshold": np.array(1.0)},
            "1: beta differs between neurons",
        ),
        ({"class": "Synaptic", "attrs": {}, "children": []}, {}, "1 (Synaptic)"),
        ({"class": "Conv3d", "attrs": {}, "children": []}, {}, "1 (Conv3d): no import rule"),
        (
            {"class": "BatchNorm1d", "attrs": {}, "children": []},
            {"1.running_mean": np.zeros(3), "1.running_var": np.ones(3)},
            "folds only into the conv or linear layer",
        ),
    ],
)
def test_what_does_not_map_is_refused_in_one_line_naming_the_module(layer, state, says):
    description = (
        _net(LINEAR, _lif("IFNode"), layer)
        if layer["class"] == "BatchNorm1d"
        else _net(LINEAR, layer)
    )
    if layer["class"] == "BatchNorm1d":
        state = {f"2.{k[2:]}": v for k, v in state.items()}
        says = "2 (BatchNorm1d): BatchNorm " + says
    with pytest.raises(ImportRefused) as e:
        lower(description, {**STATE, **state}, (4,), 2)
    assert says in str(e.value) and "\n" not in str(e.value)


class LIFNode(nn.Module):
    """A stand-in with SpikingJelly's class name, attributes and multi-step LIF equations (its
    ``_ops/lif/reference.py``): the importer is duck-typed, so it takes this like the real one."""

    def __init__(self, tau: float, decay_input: bool, v_threshold: float) -> None:
        super().__init__()
        self.tau, self.decay_input, self.v_threshold, self.v_reset = (
            tau,
            decay_input,
            v_threshold,
            0.0,
        )
        self.step_mode, self._memories = "m", {}

    def reset(self) -> None:
        self._memories = {}

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        v, out = torch.zeros_like(x_seq[0]), []
        for x in x_seq:
            h = v + (x - v) / self.tau if self.decay_input else v - v / self.tau + x
            s = (h >= self.v_threshold).to(x.dtype)
            v = s * self.v_reset + (1 - s) * h
            out.append(s)
        return torch.stack(out)


class SeqToANNContainer(nn.Sequential):
    """SpikingJelly's container: ``[T, N, ...]`` flattened to ``[T·N, ...]`` for its layers."""

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        y = super().forward(x_seq.flatten(0, 1))
        return y.reshape(*x_seq.shape[:2], *y.shape[1:])


def build(tau: float = 2.0, decay_input: bool = True) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        SeqToANNContainer(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6)),
        LIFNode(tau, decay_input, 0.5),
        SeqToANNContainer(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 16 * 16, 10)),
        LIFNode(tau, decay_input, 0.3),
    )
    with torch.no_grad():
        bn = net[0][1]
        bn.running_mean.uniform_(-0.2, 0.2), bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5), bn.bias.uniform_(-0.1, 0.3)
    return net.eval()


@settings(max_examples=20, deadline=None)
@given(
    tau=st.floats(1.0, 8.0),
    decay_input=st.booleans(),
    seed=st.integers(0, 2**16),
    n=st.sampled_from([1, 3]),
)
def test_folded_bn_and_input_gain_give_the_framework_equations_spikes(tau, decay_input, seed, n):
    """The stand-in runs SpikingJelly's equations in torch, BN unfolded, the gain 1/tau applied
    to the potential; the IR has both folded into the weights. float64: not one spike differs
    except where the framework's potential lies within 1e-9 of the threshold."""
    net = build(tau, decay_input).double()
    x = torch.randn(
        (n, 3, 32, 32), generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    graph = import_module(net, (3, 32, 32), 3, np.float64)
    ours = executor.run(graph, x.numpy(), dtype=np.float64, potentials=True)
    from rshw.importers.framework import run_framework

    theirs, _ = run_framework(net, x, 3)
    assert sorted(theirs) == ["1", "3"]
    for name, spikes in theirs.items():
        differ = ours[name] != spikes
        near = np.abs(ours[f"{name}:u"] - graph[name].attrs["v_th"]) < 1e-9
        assert not (differ & ~near).any(), name


def test_a_description_file_imports_the_same_graph_as_the_live_module(tmp_path):
    net = build()
    description, state = describe(net)
    save_description(description, state, tmp_path / "net")
    loaded = lower(*load_description(tmp_path / "net"), (3, 32, 32), 4)
    assert loaded.fingerprint() == import_module(net.float(), (3, 32, 32), 4).fingerprint()
    assert (
        json.loads((tmp_path / "net.json").read_text())["module"]["children"][1][1]["attrs"]["tau"]
        == 2.0
    )


@pytest.mark.parametrize("name", ["sj_sew_add", "sj_tdbn", "snn_cnn"])
def test_rshw_simulate_runs_each_fixture_and_traces_the_frameworks_spikes(
    name, tmp_path, monkeypatch
):
    """What `make simulate MODEL=tests/fixtures/importers/NAME.json` runs; the traced activity
    (float64, the same 4 images) is the framework's float64 spikes."""
    from rshw.pipeline.plan import SimulateOptions, resolve
    from rshw.pipeline.simulate import simulate_plan

    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache"))
    model = str(FIXTURES / f"{name}.json")
    argv = ["simulate", "--model", model, "--hw", "analytic", "--images", "4", "-T", "4"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    plan = resolve(
        SimulateOptions(model=model, hardware=("analytic",), images=4, timesteps=4),
        say=lambda _: None,
    )
    traced = simulate_plan(plan, say=lambda _: None).traced
    data = fixture(name)[2]
    lifs = [e for e in traced.activity.edges if traced.folded.graph[e].op == "lif"]
    assert sorted(f"f64:{e}" for e in lifs) == sorted(
        k for k in data if k[:4] == "f64:" and k != "f64:output"
    )
    for edge in lifs:
        np.testing.assert_array_equal(
            traced.activity.maps(edge).swapaxes(0, 1), data[f"f64:{edge}"]
        )


def test_an_import_spec_resolves_to_a_module_record_and_sew_is_refused_elsewhere():
    """The plan's record of a description: labelled imported (not NIR), lowered for the dataset's
    input shape, ``--sew`` defaulting to split and part of the record; ``--sew`` and ``--dt`` on
    models they cannot apply to are refused in one line."""
    from rshw.errors import OptionError
    from rshw.pipeline.plan import resolve_model
    from rshw.pipeline.stages import Folded, Product

    model = str(FIXTURES / "sj_sew_add.json")
    split = resolve_model(model, "channel", "cifar10-sample")
    assert (split.kind, split.variant, split.input_shape, split.sew) == (
        "module",
        "imported",
        (3, 32, 32),
        "split",
    )
    assert split.imported and not split.stand_in
    assert Folded(split, Product(None, "fold-x", False, 0.0)).label == "imported"
    multilevel = resolve_model(model, "channel", "cifar10-sample", sew="multilevel")
    assert multilevel != split and multilevel.sew == "multilevel"
    with pytest.raises(OptionError, match="--sew must be one of split, multilevel"):
        resolve_model(model, "channel", "cifar10-sample", sew="binary")
    with pytest.raises(OptionError, match="--dt applies to .nir models only"):
        resolve_model(model, "channel", "cifar10-sample", dt=1e-3)
    with pytest.raises(OptionError, match="--sew applies to imported modules"):
        resolve_model("scnn", "channel", "cifar10-sample", sew="split")


def test_simulate_a_module_file_and_a_weights_only_checkpoint(tmp_path, monkeypatch):
    """``--model FILE.py:FUNCTION --ckpt W.pth``: the weights load with weights_only, and the
    run verifies the IR's spikes against the module's own forward."""
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache"))
    source = Path(__file__).read_text()
    start, end = source.index("class LIFNode"), source.index("@settings(max_examples=20")
    (tmp_path / "net.py").write_text("import torch\nfrom torch import nn\n\n\n" + source[start:end])
    torch.save(build().state_dict(), tmp_path / "w.pth")
    out = tmp_path / "run"
    argv = [
        "simulate",
        "--model",
        f"{tmp_path / 'net.py'}:build",
        "--ckpt",
        str(tmp_path / "w.pth"),
    ]
    assert main([*argv, "--hw", "analytic", "--images", "3", "-T", "3", "--out", str(out)]) == 0
    verification = json.loads((out / "manifest.json").read_text())["verification"]
    assert verification["verified"] and verification["spikes_compared"] == 3 * 3 * (
        6 * 32 * 32 + 10
    )
    torch.save({"net": build(), "note": "a pickled module"}, tmp_path / "bad.pth")
    argv[-1] = str(tmp_path / "bad.pth")
    assert main([*argv, "--hw", "analytic", "--images", "3", "--out", str(out)]) == 2


BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def original_sew_resnet_keys(layers: list[int]) -> list[str]:
    """The state-dict keys of the original SEW-ResNet code (imagenet/sew_resnet.py of
    Spike-Element-Wise-ResNet), written out from its module tree."""
    keys = ["conv1.weight", *(f"bn1.{k}" for k in BN), "fc.weight", "fc.bias"]
    for stage, blocks in enumerate(layers, 1):
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            keys += [f"{p}.conv1.0.weight", f"{p}.conv2.0.weight"]
            keys += [f"{p}.conv{i}.1.{k}" for i in (1, 2) for k in BN]
            if stage > 1 and b == 0:
                keys += [f"{p}.downsample.0.0.weight", *(f"{p}.downsample.0.1.{k}" for k in BN)]
    return keys


@pytest.mark.parametrize(("depth", "layers"), [(18, [2, 2, 2, 2]), (34, [3, 4, 6, 3])])
def test_original_sew_resnet_keys_map_onto_spikingjelly_2(depth, layers):
    """Every key of the original code lands on a key of SpikingJelly 2.0's sew_resnet (its keys
    recorded by make_fixtures.py), and none is left over."""
    original = {k: torch.zeros(1) for k in original_sew_resnet_keys(layers)}
    expected = json.loads((FIXTURES / f"sew_resnet{depth}_keys.json").read_text())
    assert sorted(remap_sew_resnet(original)) == expected
    with pytest.raises(CheckpointError, match="layer1.0.a"):
        remap_sew_resnet({**original, "layer1.0.a": torch.ones(1)})


def test_rshw_reparam_and_trace_take_an_imported_network(tmp_path, monkeypatch, capsys):
    """The two-step path (`rshw reparam --model SPEC`, then `rshw trace`) for a network trained
    elsewhere, under both SEW policies: the IR file is the graph the importer lowers, and its
    traced spikes are the framework's."""
    from simulators.activity import Activity
    from simulators.ir import Graph

    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache"))
    model = str(FIXTURES / "sj_sew_add.json")
    description, state, data = fixture("sj_sew_add")
    for sew in ("split", "multilevel"):
        ir = tmp_path / f"{sew}.npz"
        argv = ["reparam", "--model", model, "-T", "4", "--sew", sew, "--out", str(ir)]
        assert main(argv) == 0
        graph = Graph.load(ir)
        lowered = lower(description, state, data["x"].shape[1:], 4, sew=sew)
        assert [(n.name, n.op, n.inputs) for n in graph] == [
            (n.name, n.op, n.inputs) for n in lowered
        ]
        out = tmp_path / f"{sew}-activity"
        argv = ["trace", str(ir), "--dataset", "cifar10-sample", "--samples", "4"]
        assert main([*argv, "--dtype", "float64", "--out", str(out)]) == 0
        activity = Activity.load(out)
        for edge in (e for e in activity.edges if graph[e].op == "lif"):
            np.testing.assert_array_equal(
                activity.maps(edge).swapaxes(0, 1), data[f"f64:{edge}"], err_msg=edge
            )
    zoo = ["reparam", "--model", "scnn", "--sew", "split", "--out", str(tmp_path / "z.npz")]
    capsys.readouterr()
    assert main(zoo) == 2  # --sew is for imported modules
    assert "--sew applies to imported modules" in capsys.readouterr().err
