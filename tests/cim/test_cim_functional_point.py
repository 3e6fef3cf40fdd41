"""Accuracy of a design point from saved inputs: CIM through the functional crossbar, GPU
through the dtype emulation, none for the analytic model."""

import io

import numpy as np
import pandas as pd
import pytest
from functional_graphs import grid_graph, grid_images

from rshw.pipeline.hardware_accuracy import point_accuracy
from simulators import executor
from simulators.cim import load_config


def saved_inputs(tmp_path, graph, x):
    labels = executor.run(graph, x)["output"].argmax(1)
    labels[0] = (labels[0] + 1) % 4  # the ideal network misses exactly one image
    buffer = io.BytesIO()
    np.savez(buffer, x=x, labels=labels, calibration=x)
    path = tmp_path / "inputs.npz"
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_point_accuracy_per_hardware_kind(tmp_path):
    exact = load_config("neurosim-rram-22nm", {"crossbar_rows": 8, "adc_bits": 16})
    graph = grid_graph(exact, seed=2)
    x = grid_images(5, seed=2)
    inputs = saved_inputs(tmp_path, graph, x)
    assert point_accuracy("analytic", graph, None, {}, inputs) == {}
    cim = point_accuracy("cim", graph, exact, {}, inputs)
    assert cim["accuracy"] == cim["ideal_accuracy"] == 0.8
    assert cim["top1_error_pct"] == pytest.approx(20.0)
    assert cim["mean_spike_mismatch"] == 0.0
    gpu = point_accuracy("gpu", graph, None, {"dtype": "fp32"}, inputs)
    assert gpu["accuracy"] == 0.8 and gpu["mean_spike_mismatch"] == 0.0
    coarse = load_config("neurosim-rram-22nm", {"crossbar_rows": 8, "adc_bits": 1})
    assert point_accuracy("cim", graph, coarse, {}, inputs)["mean_spike_mismatch"] > 0


def test_a_cim_point_says_how_its_chip_was_read(tmp_path):
    import json

    config = load_config("neurosim-rram-22nm", {"crossbar_rows": 8, "adc_bits": 3})
    graph = grid_graph(config, seed=2)
    inputs = saved_inputs(tmp_path, graph, grid_images(5, seed=2))
    calibrated = point_accuracy("cim", graph, config, {}, inputs)
    ranges = json.loads(calibrated["adc_ranges_json"])
    assert set(ranges) == {"stem", "local", "conv", "fc"}  # every weighted layer calibrated
    assert len(calibrated["calibration_sha256"]) == 64 and 0 <= calibrated["clip_fraction"] < 1
    fixed = load_config(
        "neurosim-rram-22nm", {"crossbar_rows": 8, "adc_bits": 3, "adc_range": "fixed"}
    )
    worst = point_accuracy("cim", graph, fixed, {}, inputs)
    assert worst["adc_ranges_json"] == "{}" and worst["clip_fraction"] == 0.0


def test_the_read_policy_grid_expands_every_policy():
    from rshw.pipeline.sweep import load_grid

    grid = load_grid("analyses/grids/cim-read-policies.toml")
    assert grid.accuracy_images > 0 and len(grid.points) == 2 * 2 * 2 * 2
    settings = [dict(p.overrides) for p in grid.points]
    for key, values in (
        ("adc_range", {"calibrated", "fixed"}),
        ("signed_weights", {"offset", "differential"}),
        ("parallel_rows", {0, 32}),
    ):
        assert {s[key] for s in settings} == values
    assert len({p.overrides for p in grid.points}) == len(grid.points)


@pytest.mark.slow
def test_sweep_grid_with_accuracy_makes_error_an_objective(tmp_path):
    from analyses.sweep import sweep
    from rshw.pipeline.sweep import load_grid

    grid = tmp_path / "grid.toml"
    grid.write_text(
        """
[sweep]
models = ["scnn"]
variants = ["channel"]
images = 1
timesteps = 2
accuracy_images = 4

[[hardware]]
kind = "cim"
preset = "neurosim-rram-22nm"
grid = {adc_bits = [1, 9], cell_variation_sigma = [0.0]}
"""
    )
    sweep(str(grid), tmp_path / "out", serial=True)
    table = pd.read_csv(tmp_path / "out" / "results.csv").sort_values("cfg.adc_bits")
    assert list(table["images"]) == [4, 4]
    # 9 ADC bits resolve a 128-row, 2-bit-cell column exactly (only the 8-bit weights and
    # inputs differ from the ideal); a 1-bit ADC loses far more
    assert 0 < table["mean_spike_mismatch"].iloc[1] < table["mean_spike_mismatch"].iloc[0]
    assert "top1_error_pct" in table and table["pareto"].any()
    without = grid.read_text().replace("accuracy_images = 4\n", "")
    grid.write_text(without)
    keys = {p.key for p in load_grid(grid).points}
    assert keys.isdisjoint(table["point"])  # a point without accuracy is another point
