"""The cached stages: every field of a stage's record reaches its key, a damaged entry is
recomputed, ``--force`` recomputes, ``--images auto`` folds once, and two commands that resolve
to the same records share their products."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from tiny_network import tiny

from rshw.cli import main
from rshw.pipeline import runcache, stages
from rshw.pipeline.hardware import HardwareRun
from rshw.pipeline.plan import AccuracyRecord, Calibration, DataRecord, ModelRecord

MODEL = ModelRecord(
    name="scnn",
    kind="zoo",
    variant="channel",
    checkpoint=None,
    weights_sha256=None,
    timesteps=2,
    dt=None,
    static_input="once",
    seed=0,
    calibration=Calibration("cifar10-sample", None, "sample.npz", "train", 100, 64),
    input_shape=None,
    sew=None,
)
DATA = DataRecord("cifar10-sample", None, "sample.npz", "test", 2, 3, 0, "0123abcd")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Each test counts what it computes: an empty cache of its own."""
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache"))


def other(value):
    """A value of the same kind that differs from ``value``."""
    if dataclasses.is_dataclass(value):
        first = dataclasses.fields(value)[0].name
        return dataclasses.replace(value, **{first: other(getattr(value, first))})
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if value is None:
        return "given"
    return f"{value}-other"


def variants(record):
    """``record`` with each field in turn changed."""
    for f in dataclasses.fields(record):
        yield f.name, dataclasses.replace(record, **{f.name: other(getattr(record, f.name))})


@pytest.fixture
def keys(monkeypatch):
    """Run stage functions without building anything: each call returns the key it would use."""

    def fake(stage, inputs, build, force=False):
        return stages.Product(None, stages.key(stage.name, **inputs), False, 0.0)

    monkeypatch.setattr(stages, "run_stage", fake)


def folded(record=MODEL, key="fold-x"):
    return stages.Folded(record, stages.Product(tiny(), key, False, 0.0))


def test_every_field_of_the_model_record_changes_the_fold_key(keys):
    base = stages.fold(MODEL).key
    for name, changed in variants(MODEL):
        assert stages.fold(changed).key != base, name
    assert stages.fold(MODEL, dtype=np.float32).key != base


def test_every_field_of_the_data_record_and_the_graph_change_the_trace_key(keys):
    graph = tiny()

    def trace_key(g, data):
        return stages.trace(g, stages.Images(data, None)).key

    base = trace_key(graph, DATA)
    for name, changed in variants(DATA):
        assert trace_key(graph, changed) != base, name
    assert trace_key(tiny(static_input="every_step"), DATA) != base  # graph meta
    heavier = tiny()
    heavier["fc"].arrays["weight"] = np.full((1, 2), 2.0)
    assert trace_key(heavier, DATA) != base  # weights
    assert stages.trace(graph, stages.Images(DATA, None), dtype=np.float32).key != base


def test_verify_simulate_and_accuracy_keys_follow_their_inputs(keys, tmp_path):
    trace = stages.Product(None, "trace-a", False, 0.0)
    retraced = stages.Product(None, "trace-b", False, 0.0)
    verify = stages.verify(folded(), trace, None).key
    assert stages.verify(folded(key="fold-y"), trace, None).key != verify
    assert stages.verify(folded(), retraced, None).key != verify

    run = HardwareRun("cim", "spikesim-rram-65nm", {"adc_bits": 6})
    base = stages.simulate(run, folded(), trace).key
    assert base == stages.simulate_key(run, "trace-a")  # what a sweep point looks up
    assert stages.simulate(run, folded(), retraced).key != base
    changed = [
        HardwareRun("gpu", "h200", {"batch": 1}),
        HardwareRun("cim", "neurosim-rram-22nm", {"adc_bits": 6}),
        HardwareRun("cim", "spikesim-rram-65nm", {"adc_bits": 5}),
        HardwareRun("cim", "spikesim-rram-65nm", {"adc_bits": 6, "mode": "dense"}),
    ]
    # the same preset name with other contents: a file of another energy
    from simulators.cim.config import PRESETS

    text = (PRESETS / "spikesim-rram-65nm.toml").read_text()
    edited = tmp_path / "spikesim-rram-65nm.toml"
    edited.write_text(text + "\n# edited\n")
    changed.append(HardwareRun("cim", str(edited), {"adc_bits": 6}))
    for run_b in changed:
        assert stages.simulate(run_b, folded(), trace).key != base, run_b

    record = AccuracyRecord(DATA, 256)
    acc = stages.accuracy(run, folded(), record).key
    assert stages.accuracy(run, folded(key="fold-y"), record).key != acc
    for name, changed_record in variants(record):
        assert stages.accuracy(run, folded(), changed_record).key != acc, name
    assert stages.accuracy(changed[2], folded(), record).key != acc


STAGE = stages.Stage(
    "probe", lambda folder: json.loads((folder / "v.json").read_text()), (ValueError,)
)


def counted():
    calls = []

    def build(folder: Path):
        calls.append(folder)
        (folder / "v.json").write_text(json.dumps(len(calls)))
        return len(calls)

    return calls, build


def test_a_damaged_entry_is_discarded_in_one_line_and_recomputed(capsys):
    calls, build = counted()
    first = stages.run_stage(STAGE, {"a": 1}, build)
    again = stages.run_stage(STAGE, {"a": 1}, build)
    assert (first.cached, again.cached, again.value, len(calls)) == (False, True, 1, 1)
    (runcache.entry(first.key) / "v.json").write_text('{"cut')  # a cut file
    third = stages.run_stage(STAGE, {"a": 1}, build)
    assert (third.cached, third.value, len(calls)) == (False, 2, 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "discarding damaged cache entry" in err[0]


def test_a_damaged_graph_is_folded_again(monkeypatch, capsys):
    folds = []

    def fake_fold(record, say, dtype=np.float64):
        folds.append(record)
        return type("P", (), {"graph": tiny(), "model": None})()

    monkeypatch.setattr(stages, "_fold_network", fake_fold)
    product = stages.fold(MODEL, say=lambda _: None).product
    (runcache.entry(product.key) / "graph.npz").write_bytes(b"not a zip")
    again = stages.fold(MODEL, say=lambda _: None)
    assert len(folds) == 2 and not again.product.cached
    assert again.graph.fingerprint() == tiny().fingerprint()
    assert "discarding damaged cache entry" in capsys.readouterr().err


def test_force_recomputes_and_replaces_the_entry():
    calls, build = counted()
    stages.run_stage(STAGE, {"a": 1}, build)
    forced = stages.run_stage(STAGE, {"a": 1}, build, force=True)
    assert (forced.cached, forced.value, len(calls)) == (False, 2, 2)
    after = stages.run_stage(STAGE, {"a": 1}, build)
    assert (after.cached, after.value, len(calls)) == (True, 2, 2)


SIMULATE = ["simulate", "--model", "scnn", "--hw", "analytic", "-T", "2"]


def test_images_auto_folds_once_however_often_it_traces(tmp_path, monkeypatch, capsys):
    from rshw.pipeline import prepare

    folds, traces = [], []
    fold_network = prepare.fold_network
    monkeypatch.setattr(
        prepare, "fold_network", lambda *a, **k: folds.append(a) or fold_network(*a, **k)
    )
    real_trace = stages.trace
    monkeypatch.setattr(stages, "trace", lambda *a, **k: traces.append(a) or real_trace(*a, **k))
    argv = [*SIMULATE, "--images", "auto", "--images-cap", "16", "--ci-target", "0.0001"]
    assert main([*argv, "--out", str(tmp_path / "auto")]) == 0
    assert "--images auto: 16 images" in capsys.readouterr().out
    assert (len(folds), len(traces)) == (1, 2)  # traced at 8 and 16 images, folded once
    folds.clear()
    assert main([*argv, "--force", "--out", str(tmp_path / "forced")]) == 0
    assert len(folds) == 1  # --force folds again, still once


def test_reparam_folds_the_network_simulate_folds(tmp_path, monkeypatch):
    """Each command in a cache of its own, so each folds for itself."""
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache-reparam"))
    graph_file = tmp_path / "g.npz"
    assert main(["reparam", "--model", "scnn", "-T", "2", "--out", str(graph_file)]) == 0
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache-simulate"))
    assert main([*SIMULATE, "--images", "2", "--out", str(tmp_path / "run")]) == 0
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    from simulators.ir import Graph

    graph = Graph.load(graph_file)
    assert graph.fingerprint() == manifest["graph"]["fingerprint"]
    assert graph.meta["source"]["calibration"]["samples"] == 64
    assert graph.meta["source"]["realspike_a"].startswith("uniform")
