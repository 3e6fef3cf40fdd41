"""Accuracy of a design point: CIM through the functional crossbar, GPU through the dtype
emulation, none for the analytic model."""

import pandas as pd
import pytest
from functional_graphs import grid_graph, grid_images

from rshw.pipeline.hardware import HardwareRun
from rshw.pipeline.hardware_accuracy import point_accuracy
from simulators import executor
from simulators.cim import load_config


def test_point_accuracy_per_hardware_kind():
    exact = {"crossbar_rows": 8, "adc_bits": 16}
    graph = grid_graph(load_config("neurosim-rram-22nm", exact), seed=2)
    x = grid_images(5, seed=2)
    labels = executor.run(graph, x)["output"].argmax(1)
    labels[0] = (labels[0] + 1) % 4  # the ideal network misses exactly one image

    def accuracy(hardware, preset, settings):
        return point_accuracy(HardwareRun(hardware, preset, settings), graph, x, labels, x)

    assert accuracy("analytic", "horowitz-45nm-fp32", {}) == {}
    cim = accuracy("cim", "neurosim-rram-22nm", exact)
    assert cim["accuracy"] == cim["ideal_accuracy"] == 0.8
    assert cim["top1_error_pct"] == pytest.approx(20.0)
    assert cim["mean_spike_mismatch"] == 0.0
    gpu = accuracy("gpu", "h200", {"dtype": "fp32"})
    assert gpu["accuracy"] == 0.8 and gpu["mean_spike_mismatch"] == 0.0
    coarse = {"crossbar_rows": 8, "adc_bits": 1}
    assert accuracy("cim", "neurosim-rram-22nm", coarse)["mean_spike_mismatch"] > 0


def test_a_cim_point_says_how_its_chip_was_read():
    import json

    read = {"crossbar_rows": 8, "adc_bits": 3}
    graph = grid_graph(load_config("neurosim-rram-22nm", read), seed=2)
    x = grid_images(5, seed=2)
    labels = executor.run(graph, x)["output"].argmax(1)

    def accuracy(settings):
        return point_accuracy(
            HardwareRun("cim", "neurosim-rram-22nm", settings), graph, x, labels, x
        )

    calibrated = accuracy(read)
    ranges = json.loads(calibrated["adc_ranges_json"])
    assert set(ranges) == {"stem", "local", "conv", "fc"}  # every weighted layer calibrated
    assert len(calibrated["calibration_sha256"]) == 64 and 0 <= calibrated["clip_fraction"] < 1
    worst = accuracy({**read, "adc_range": "fixed"})
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
    # without accuracy a point is the same simulate-stage entry (accuracy is a stage of its own):
    # both reports are reused, and the table has no accuracy columns
    stats = sweep(str(grid), tmp_path / "out", serial=True)
    assert (stats["computed"], stats["reused"]) == (0, 2)
    energy_only = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(energy_only) == 2 and "top1_error_pct" not in energy_only


CALIBRATED_GRID = """
[sweep]
models = ["scnn"]
variants = ["channel"]
images = 1
timesteps = 2
accuracy_images = 2
{calibration}
[[hardware]]
kind = "cim"
preset = "neurosim-rram-22nm"
"""


def test_a_grid_sets_how_many_images_calibrate_the_adc_ranges(tmp_path, monkeypatch):
    from analyses.sweep import prepare_inputs
    from rshw.pipeline.plan import AccuracyRecord
    from rshw.pipeline.sweep import GridError, load_grid

    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "grid.toml"
    path.write_text(CALIBRATED_GRID.format(calibration=""))
    assert load_grid(path).calibration_images == AccuracyRecord.calibration_images
    path.write_text(CALIBRATED_GRID.format(calibration="calibration_images = 8"))
    grid = load_grid(path)
    assert grid.calibration_images == 8
    assert prepare_inputs(grid, False)["scnn", "channel"].accuracy.calibration_images == 8
    for bad in ("0", '"8"'):
        path.write_text(CALIBRATED_GRID.format(calibration=f"calibration_images = {bad}"))
        with pytest.raises(GridError, match="calibration_images must be"):
            load_grid(path)
