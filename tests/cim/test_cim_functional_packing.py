"""Laws of the functional crossbar's fast paths: two column kinds packed into one matmul operand
give the same sums as one kind per operand, and unrolling the row inputs a few images at a time
changes nothing."""

import dataclasses

import numpy as np
import pytest
from functional_graphs import LIF, grid_graph, grid_images, on_spikes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.cim import functional, load_config
from simulators.cim.functional import program, run
from simulators.ir import Graph


def wide_graph(inputs: int = 600, seed: int = 0) -> Graph:
    """Spikes from ``inputs`` neurons into a 4-output linear layer: one unit of many rows."""
    rng = np.random.default_rng(seed)
    g = Graph({"timesteps": 2})
    g.add("input", "input", shape=(inputs,))
    g.add("lif", "lif", ["input"], attrs=LIF)
    on_spikes(g, "fc", "linear", "lif", {}, weight=rng.uniform(-1, 1, (4, inputs)))
    g.add("output", "output", ["fc"])
    return g.validate()


def one_kind_per_operand(chip: functional.FunctionalChip) -> functional.FunctionalChip:
    """The same programmed chip with every layer's operands cut from its cells, one column kind
    each (the unpacked layout), and fresh counters."""
    layers = {}
    for name, layer in chip.layers.items():
        o = layer.outputs
        kinds = layer.cells.shape[-1] // o
        groups = tuple(
            np.ascontiguousarray(layer.cells[..., k * o : (k + 1) * o]) for k in range(kinds)
        )
        layers[name] = dataclasses.replace(layer, groups=groups, pack_shift=0)
    return dataclasses.replace(chip, layers=layers, conversions={}, clipped={})


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    preset=st.sampled_from(["neurosim-rram-22nm", "spikesim-rram-65nm"]),
    signed=st.sampled_from(["offset", "differential"]),
    subtraction=st.sampled_from(["analog", "digital"]),
    mapping=st.sampled_from(["im2col", "kernel-split"]),
    accumulation=st.sampled_from(["analog", "digital"]),
    bits_per_cell=st.integers(1, 4),
    rows=st.integers(2, 12),
    adc_bits=st.integers(2, 6),
    stuck=st.sampled_from([0.0, 0.05]),
    seed=st.integers(0, 2**16),
)
def test_packed_operands_give_the_unpacked_sums_bit_for_bit(
    preset, signed, subtraction, mapping, accumulation, bits_per_cell, rows, adc_bits, stuck, seed
):
    config = load_config(
        preset,
        {
            "signed_weights": signed,
            "differential_subtraction": subtraction,
            "mapping": mapping,
            "pe_accumulation": accumulation,
            "bits_per_cell": bits_per_cell,
            "weight_bits": 8,
            "crossbar_rows": rows,
            "adc_bits": adc_bits,  # lossy: every kind's sum must be right, not only their total
            "stuck_at_0_rate": stuck,
            "stuck_at_1_rate": stuck,
        },
    )
    graph = grid_graph(config, seed=seed)
    x = grid_images(5, seed=seed)
    chip = program(graph, config, x, seed=seed)
    assert all(layer.pack_shift > 0 for layer in chip.layers.values())  # integer cells: packed
    plain = one_kind_per_operand(chip)
    got, want = run(chip, x, keep="all"), run(plain, x, keep="all")
    for name, values in want.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)
    assert chip.conversions == plain.conversions and chip.clipped == plain.clipped


@pytest.mark.parametrize(
    "overrides",
    [
        {"cell_variation_sigma": 0.1},  # real-valued cells: a packed sum would not split
        {"on_off_ratio": 10.0},  # every cell conducts a fraction of a level
        {"bits_per_cell": 4, "crossbar_rows": 512},  # 512 · 15 needs 13 bits: 2 × 13 > 24
    ],
)
def test_cells_whose_sums_would_not_split_exactly_stay_one_kind_per_operand(overrides):
    config = load_config("neurosim-rram-22nm", overrides)
    chip = program(wide_graph(), config, np.ones((3, 600)))
    for layer in chip.layers.values():
        assert layer.pack_shift == 0
        assert len(layer.groups) * layer.outputs == layer.cells.shape[-1]


def test_float64_packs_sums_float32_cannot_hold():
    config = load_config("neurosim-rram-22nm", {"bits_per_cell": 4, "crossbar_rows": 512})
    x = np.random.default_rng(1).uniform(0, 1.5, (3, 600))
    chip64 = program(wide_graph(), config, x, dtype=np.float64)
    assert [layer.pack_shift for layer in chip64.layers.values()] == [13]  # 512 · 15 < 2^13
    got = run(chip64, x, keep="all", dtype=np.float64)
    want = run(one_kind_per_operand(chip64), x, keep="all", dtype=np.float64)
    for name, values in want.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)


@pytest.mark.parametrize("workers", [1, 3])
def test_unrolling_a_few_images_at_a_time_in_threads_changes_nothing(monkeypatch, workers):
    config = load_config("neurosim-rram-22nm", {"crossbar_rows": 8, "adc_bits": 3})
    graph = grid_graph(config)
    x = grid_images(7)
    monkeypatch.setattr(functional, "_workers", lambda: 1)
    chip = program(graph, config, x)
    whole = run(chip, x, keep="all")
    conversions, clipped = dict(chip.conversions), dict(chip.clipped)
    chip.conversions.clear()
    chip.clipped.clear()
    monkeypatch.setattr(functional, "_ROW_INPUT_ELEMENTS", 1)  # one image per unrolling
    monkeypatch.setattr(functional, "_workers", lambda: workers)
    piecewise = run(chip, x, keep="all")
    for name, values in whole.items():
        np.testing.assert_array_equal(piecewise[name], values, err_msg=name)
    assert chip.conversions == conversions and chip.clipped == clipped


def test_calibrating_in_batches_and_threads_gives_the_same_ranges(monkeypatch):
    """Each batch keeps its own largest sums, merged at the end: the ADC full scales (a
    percentile of each unit's sums over all images) are those of one batch in one thread, bit
    for bit."""
    config = load_config("neurosim-rram-22nm", {"crossbar_rows": 8, "adc_bits": 3})
    graph = grid_graph(config)
    x = grid_images(7)
    chips = {}
    for batch, workers in ((16, 1), (2, 1), (2, 3)):  # 7 images: one batch, or four
        monkeypatch.setattr(functional, "_CALIBRATION_BATCH", batch)
        monkeypatch.setattr(functional, "_workers", lambda workers=workers: workers)
        chips[batch, workers] = program(graph, config, x)
    whole = chips[16, 1]
    for name, layer in whole.layers.items():
        assert layer.full_scales and all(np.all(f > 0) for f in layer.full_scales)
        for split in (chips[2, 1], chips[2, 3]):
            for one, many in zip(layer.full_scales, split.layers[name].full_scales, strict=True):
                np.testing.assert_array_equal(many, one, err_msg=name)


@pytest.mark.parametrize(
    ("omp", "expected"), [("3", 3), ("1", 1), ("", None), ("zero", None), ("0", None)]
)
def test_workers_follow_omp_num_threads_else_the_cpus(monkeypatch, omp, expected):
    import os

    monkeypatch.setenv("OMP_NUM_THREADS", omp)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert functional._workers() == (expected or cpus)
