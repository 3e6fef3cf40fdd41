"""ResNet19 end to end: rshw builds and traces the real graphs, the GPU model simulates them."""

import time

import pytest

from simulators.gpu import simulate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def networks(tmp_path_factory):
    from rshw.data import load_dataset
    from rshw.models import create_model
    from rshw.pipeline.reparam import reparameterize
    from rshw.pipeline.trace import trace
    from rshw.training.calibrate import calibrate_batchnorm

    out = {}
    for realspike in ("channel", "element"):
        model = create_model("resnet19", realspike=realspike)
        calibrate_batchnorm(model, load_dataset("cifar10-sample", None, "train"), 32)
        graph = reparameterize(model)
        folder = tmp_path_factory.mktemp(realspike) / "act"
        activity, _ = trace(
            graph, load_dataset("cifar10-sample", None, "test"), 2, folder, progress=False
        )
        out[realspike] = graph, activity
    return out


@pytest.mark.parametrize("preset", ["h200", "orin"])
def test_resnet19_dense_event_unshared_in_under_5_s(networks, preset):
    results = {}
    for label, realspike, kw in [
        ("dense", "channel", {}),
        ("event", "channel", {"execution": "event"}),
        ("unshared", "element", {}),
        ("tuned", "channel", {"implementation": "tuned"}),
        ("implicit", "element", {"implementation": "tuned"}),
    ]:
        graph, activity = networks[realspike]
        start = time.perf_counter()
        results[label] = simulate(graph, activity, preset, **kw).summary
        assert time.perf_counter() - start < 5.0
    unshared_weights = 2_281_701_376 * 2
    assert results["implicit"]["dram_bytes"] > unshared_weights
    assert results["dense"]["dram_bytes"] < unshared_weights / 20
    assert results["unshared"]["latency_s"] > results["dense"]["latency_s"]
    assert results["implicit"]["latency_s"] > 2 * results["tuned"]["latency_s"]
    assert results["event"]["sops"] > 0
