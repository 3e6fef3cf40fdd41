import json

import numpy as np
import pytest

from simulators.lif import lif_run
from simulators.reference import brian2_lif_layer, brian2_network, crosscheck_graph
from simulators.reference.continuous import continuous_lif, membrane_time_constant
from simulators.reference.crosscheck import record_lif_inputs
from simulators.reference.session import cython_available


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_single_layer_matches_bit_for_bit(dtype):
    x = np.random.default_rng(0).normal(0.3, 0.4, (6, 5000)).astype(dtype)
    spikes, u = brian2_lif_layer(x, 0.25, 0.5, dtype)
    ours, u_ours = lif_run(x, dtype(0.25), dtype(0.5))
    np.testing.assert_array_equal(spikes, ours.astype(bool))
    np.testing.assert_array_equal(u, u_ours)
    assert u.dtype == dtype and 0 < spikes.mean() < 1


def test_other_tau_and_threshold():
    x = np.random.default_rng(1).uniform(0, 1, (8, 300))
    spikes, _ = brian2_lif_layer(x, 0.5, 0.9)
    np.testing.assert_array_equal(spikes, lif_run(x, 0.5, 0.9)[0].astype(bool))


def test_network_with_synapses_matches_the_executor():
    from analyses.crosscheck import dyadic_network
    from simulators import executor

    graph, spikes_in = dyadic_network(seed=3)
    ours = executor.run(graph, spikes_in[:, None, :].astype(np.float64), dtype=np.float64)
    theirs = brian2_network(graph, spikes_in)
    assert set(theirs) == {"lif1", "lif2", "lif3"}
    for name, s in theirs.items():
        np.testing.assert_array_equal(s, ours[name][:, 0].astype(bool), err_msg=name)
    assert all(s.any() for s in theirs.values())


def test_continuous_time_view_samples_to_the_discrete_model():
    x = np.random.default_rng(2).normal(0.3, 0.3, (6, 20))
    view = continuous_lif(x, 0.25, 0.5, substeps=50)
    spikes, u = lif_run(x)
    np.testing.assert_array_equal(view["spikes"], spikes.astype(bool))
    np.testing.assert_allclose(view["v_at_steps"], u, atol=1e-12)
    assert view["v"].shape == (6 * 50, 20)
    assert membrane_time_constant(0.25) == pytest.approx(1 / np.log(4))
    with pytest.raises(ValueError, match="tau must lie in"):
        membrane_time_constant(1.0)


def scnn_graph():
    from rshw.models import create_model
    from rshw.pipeline.reparam import reparameterize
    from rshw.training.calibrate import randomize_for_checks

    model = randomize_for_checks(create_model("scnn", realspike="element", timesteps=3), seed=4)
    return reparameterize(model, np.float64)


def test_crosscheck_of_a_zoo_graph_and_shape_errors():
    graph = scnn_graph()
    x = np.random.default_rng(0).normal(size=(2, 1, 28, 28))
    recorded = record_lif_inputs(graph, x, np.float64)
    table, mismatches = crosscheck_graph(graph, recorded)
    assert len(table) == 3 and table.mismatches.sum() == 0 and mismatches.empty
    assert (table.spikes_ours > 0).all()
    bad = dict(recorded)
    bad["body.2.lif"] = recorded["body.2.lif"][:, :, :, :3]
    with pytest.raises(ValueError, match=r"recorded input for 'body.2.lif' has shape"):
        crosscheck_graph(graph, bad)
    with pytest.raises(ValueError, match="no recorded input for LIF layer"):
        crosscheck_graph(graph, {})


def test_analysis_script_writes_table_and_figure(tmp_path):
    from analyses.crosscheck import main

    assert (
        main(
            [
                "--model",
                "scnn",
                "--images",
                "2",
                "--targets",
                "numpy",
                "--dtypes",
                "float64",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    # the shipped scnn-cifar10-channel checkpoint (the embedded sample uses cifar10's): a trained
    # network, with no data outside the package
    assert summary["weights"] == "trained"
    assert all(row["mismatches"] == 0 for row in summary["mismatches"])
    for name in ("table.csv", "mismatches.csv", "crosscheck.pdf", "crosscheck.png"):
        assert (tmp_path / name).is_file()


@pytest.mark.slow
@pytest.mark.skipif(not cython_available(), reason="needs Cython and a C compiler")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cython_target_matches_too(dtype):
    x = np.random.default_rng(0).normal(0.3, 0.4, (5, 2000)).astype(dtype)
    spikes, u = brian2_lif_layer(x, 0.25, 0.5, dtype, target="cython")
    ours, u_ours = lif_run(x, dtype(0.25), dtype(0.5))
    np.testing.assert_array_equal(spikes, ours.astype(bool))
    np.testing.assert_array_equal(u, u_ours)
