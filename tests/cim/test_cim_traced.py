"""The CIM model on real traced activity (cifar10-sample): a small model fast, ResNet19 slow."""

import time
import tracemalloc

import numpy as np
import pytest

from simulators.cim import MappingError, load_config, simulate

torch = pytest.importorskip("torch")
from rshw.data import load_dataset  # noqa: E402
from rshw.models import create_model  # noqa: E402
from rshw.pipeline.reparam import reparameterize  # noqa: E402
from rshw.pipeline.trace import trace  # noqa: E402
from rshw.training.calibrate import calibrate_batchnorm  # noqa: E402


def traced(tmp_path, name, samples, **kw):
    torch.manual_seed(0)
    train = load_dataset("cifar10-sample", split="train")
    model = calibrate_batchnorm(create_model(name, **kw), train, 64)
    graph = reparameterize(model, np.float32)
    test = load_dataset("cifar10-sample", split="test")
    activity, _ = trace(graph, test, samples, tmp_path / name, progress=False)
    return graph, activity


def test_small_model_on_real_spikes(tmp_path):
    graph, activity = traced(tmp_path, "scnn", 2, in_channels=3, input_size=32, realspike="element")
    for preset in ("spikesim-rram-65nm", "neurosim-rram-22nm"):
        config = load_config(preset, {"chips": 2})
        event = simulate(graph, activity, config, samples=2).summary
        dense = simulate(graph, activity, config, mode="dense", samples=2).summary
        assert event["energy_pj"] <= dense["energy_pj"]
        assert event["latency_cycles"] >= event["closed_form_latency_cycles"]
        assert event["samples"] == 2 and event["simpy_events"] > 0


@pytest.mark.slow
def test_resnet19_shared_is_fast_and_unshared_completes(tmp_path):
    graph, activity = traced(tmp_path, "resnet19", 1, realspike="channel")
    start = time.perf_counter()
    report = simulate(graph, activity, "spikesim-rram-65nm")
    assert time.perf_counter() - start <= 10
    tracemalloc.start()
    simulate(graph, activity, "spikesim-rram-65nm")
    assert tracemalloc.get_traced_memory()[1] <= 2 * 2**30
    tracemalloc.stop()
    assert report.summary["latency_cycles"] >= report.summary["closed_form_latency_cycles"]

    graph, activity = traced(tmp_path, "resnet19", 1, realspike="element")
    with pytest.raises(MappingError, match=r"set chips >= (\d+)") as error:
        refuse = {"chips": 1, "overflow": "refuse"}  # a budget
        simulate(graph, activity, load_config("spikesim-rram-65nm", refuse))
    chips = int(error.value.args[0].split("set chips >= ")[1].split()[0])
    unshared = simulate(graph, activity, load_config("spikesim-rram-65nm", {"chips": chips}))
    spread = simulate(graph, activity, "spikesim-rram-65nm")  # the preset: as many as needed
    assert spread.summary["chips"] == chips == unshared.summary["chips"]
    assert unshared.summary["crossbars"] > 100 * report.summary["crossbars"]
    assert unshared.summary["latency_cycles"] < report.summary["latency_cycles"]
