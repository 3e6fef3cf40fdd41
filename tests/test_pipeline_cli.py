"""reparam → trace → analytic from the command line, on the embedded sample (no data folder)."""

import numpy as np
import pytest
import torch

from rshw.cli import main
from rshw.data import load_dataset
from rshw.models import create_model
from rshw.pipeline.trace import trace
from simulators import analytic, executor
from simulators.activity import Activity
from simulators.ir import Graph


@pytest.mark.parametrize("granularity", ["channel", "element"])
def test_reparam_trace_analytic(tmp_path, capsys, granularity):
    graph_file, act_dir = tmp_path / "g.npz", tmp_path / "act"
    assert (
        main(
            [
                "reparam",
                "--model",
                "scnn",
                "--realspike",
                granularity,
                "-T",
                "2",
                "--calibrate",
                "64",
                "--out",
                str(graph_file),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "UNTRAINED" in out and ("unshared" in out) == (granularity == "element")
    graph = Graph.load(graph_file)
    assert graph.meta["source"]["trained"] is False
    assert (
        main(["trace", str(graph_file), "--samples", "10", "--chunk", "4", "--out", str(act_dir)])
        == 0
    )
    activity = Activity.load(act_dir)
    assert activity.samples == 10 and set(activity.edges) == set(graph.spike_edges())
    rates = [activity.rate(e) for e in activity.edges]
    assert all(0 < r < 1 for r in rates), rates
    report = analytic.simulate(graph, activity)
    assert report.summary["sops"] > 0 and report.summary["macs"] > 0


def test_trace_records_exactly_what_the_executor_computes(tmp_path):
    torch.manual_seed(0)
    from rshw.pipeline.reparam import reparameterize
    from rshw.training.calibrate import calibrate_batchnorm

    ds = load_dataset("cifar10-sample", split="test")
    model = create_model("scnn", realspike="layer", timesteps=3, in_channels=3, input_size=32)
    graph = reparameterize(calibrate_batchnorm(model, ds, 64))
    activity, logits = trace(graph, ds, 7, tmp_path / "a", chunk=3, progress=False, seed=5)
    traced = ds.random_subset(7, seed=5)
    x = np.stack(
        [
            (traced.x[i].transpose(2, 0, 1) / 255 - np.array(ds.mean)[:, None, None])
            / np.array(ds.std)[:, None, None]
            for i in range(7)
        ]
    )
    direct = executor.run(graph, x, keep="lif")
    for edge in ("body.0.lif", "body.2.lif"):
        np.testing.assert_array_equal(activity.maps(edge), direct[edge].swapaxes(0, 1) == 1)
    np.testing.assert_allclose(logits, direct["output"], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="samples must lie in 1..100"):
        trace(graph, ds, 500, tmp_path / "b", progress=False)
