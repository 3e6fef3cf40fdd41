"""Laws of the functional crossbar: exact with enough precision, a two-crossbar example by hand,
seeded device effects, ADC levels, and the accuracy report."""

import numpy as np
import pytest
from functional_graphs import grid_graph, grid_images
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators import executor
from simulators.cim import load_config
from simulators.cim.functional import program, run
from simulators.cim.functional_accuracy import (
    evaluate,
    ideal_outputs,
    images_per_batch,
    wilson_interval,
)
from simulators.cim.functional_cells import adc_step, convert
from simulators.config import ConfigError
from simulators.ir import Graph

LIF = {"tau": 0.25, "v_th": 0.5}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    preset=st.sampled_from(["neurosim-rram-22nm", "spikesim-rram-65nm"]),
    signed=st.sampled_from(["offset", "differential"]),
    mapping=st.sampled_from(["im2col", "kernel-split"]),
    accumulation=st.sampled_from(["analog", "digital"]),
    rows=st.integers(2, 12),
    negative_inputs=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_enough_precision_reproduces_the_ideal_network_exactly(
    preset, signed, mapping, accumulation, rows, negative_inputs, seed
):
    config = load_config(
        preset,
        {
            "signed_weights": signed,
            "mapping": mapping,
            "pe_accumulation": accumulation,
            "crossbar_rows": rows,
            "real_input_bits": 8,
            "adc_bits": 24,  # more than any partial sum here needs
        },
    )
    graph = grid_graph(config, seed=seed)
    x = grid_images(4, signed=negative_inputs, seed=seed)
    got = run(program(graph, config, x, seed=seed), x, keep="all")
    ideal = executor.run(graph, x, keep="all")
    assert 0 < ideal["lif0"].mean() < 1 and 0 < ideal["lif2"].mean() < 1  # spikes to get right
    for name, values in ideal.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)


def two_crossbar_graph() -> Graph:
    """Four spikes into one output: W = 0.5 · [1, -1, 0, 1]."""
    g = Graph({"timesteps": 1})
    g.add("input", "input", shape=(4,))
    g.add("lif", "lif", ["input"], attrs=LIF)
    g.add(
        "fc",
        "linear",
        ["lif"],
        attrs={"binary_input": True},
        weight=np.array([[0.5, -0.5, 0.0, 0.5]]),
    )
    g.add("output", "output", ["fc"])
    return g.validate()


HAND = {
    "crossbar_rows": 2,
    "bits_per_cell": 1,
    "weight_bits": 2,
    "signed_weights": "offset",
    "pe_accumulation": "digital",
    "adc_bits": 1,
    "adc_range": "fixed",  # the worst-case range: LSBs by hand below
}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # Levels q = [1, -1, 0, 1] (scale 0.5) stored with offset 2: [3, 1, 2, 3], as bit 0
        # [1, 1, 0, 1] and bit 1 [1, 0, 1, 1]. Spikes [1, 1, 1, 0]. Crossbar A (rows 0-1) sums
        # bit 0: 2, bit 1: 1; crossbar B (rows 2-3) bit 0: 0, bit 1: 1. A 2-row, 1-bit-cell
        # column needs F = 2 bits; a 1-bit ADC has LSB 2: codes round(2/2)=1, round(1/2)=0
        # (half to even), 0, 0 → values 2, 0, 0, 0. Shift-add 2·1 + 0·2 = 2; minus the offset
        # 2 · (1+1+1) = 6 → -4; times 0.5 → -2.
        ({}, -2.0),
        # A 2-bit ADC is exact: A 2 + 1·2 = 4, B 0 + 1·2 = 2; 6 - 6 = 0 = the ideal W·x.
        ({"adc_bits": 2}, 0.0),
        # Analog PE accumulation: both crossbars (4 rows, F = 3, LSB 4) convert together:
        # bit 0 sum 2 → round(0.5) = 0, bit 1 sum 2 → 0; 0 - 6 = -6 → -3.
        ({"pe_accumulation": "analog", "crossbars_per_pe": 2}, -3.0),
        # Every cell stuck at 1 stores 3: 3·3 - 6 = 3 → 1.5 (exact ADC).
        ({"adc_bits": 2, "stuck_at_1_rate": 1.0}, 1.5),
        # Every cell stuck at 0: 0 - 6 → -3.
        ({"adc_bits": 2, "stuck_at_0_rate": 1.0}, -3.0),
        # On/off ratio 3: an off cell conducts 1/(3-1) = 0.5 of a step, so every active row adds
        # 0.5 to both slice columns. A: bit 0 2+1 = 3, bit 1 1+1 = 2; B (one active row): bit 0
        # 0.5 → round 0 (half to even), bit 1 1.5 → 2. 3 + 2·2 + 0 + 2·2 = 11; 11 - 6 = 5 → 2.5.
        ({"adc_bits": 8, "on_off_ratio": 3.0}, 2.5),
    ],
)
def test_two_crossbar_example_by_hand(overrides, expected):
    config = load_config("neurosim-rram-22nm", {**HAND, **overrides})
    x = np.array([[1.0, 1.0, 1.0, 0.0]])
    graph = two_crossbar_graph()
    assert run(program(graph, config, x), x)["output"][0, 0] == expected


def test_same_seed_same_result_and_another_seed_another():
    config = load_config(
        "neurosim-rram-22nm",
        {"crossbar_rows": 8, "cell_variation_sigma": 0.3, "stuck_at_0_rate": 0.02},
    )
    graph = grid_graph(config, seed=3)
    x = grid_images(4, seed=3)
    first = run(program(graph, config, x, seed=7), x, keep="all")
    again = run(program(graph, config, x, seed=7), x, keep="all")
    other = run(program(graph, config, x, seed=8), x, keep="all")
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["fc"], other["fc"])


@given(
    rows=st.integers(1, 512),
    bits_per_cell=st.integers(1, 4),
    adc_bits=st.integers(2, 12),
    full_scale=st.sampled_from([1.0, 0.5, 0.1]),
)
def test_fewer_adc_bits_never_give_more_partial_sum_levels(
    rows, bits_per_cell, adc_bits, full_scale
):
    largest = rows * (2**bits_per_cell - 1)

    def levels(bits: int) -> set[float]:
        config = load_config(
            "neurosim-rram-22nm",
            {"adc_bits": bits, "bits_per_cell": bits_per_cell, "adc_full_scale": full_scale},
        )
        step = adc_step(rows, config)
        sums = np.arange(largest + 1, dtype=np.float32)
        values = convert(sums, step, bits) * step
        assert set(np.unique(values / step)) <= set(range(2**bits))  # on the grid, clipped
        return set(values.tolist())

    assert len(levels(adc_bits - 1)) <= len(levels(adc_bits)) <= min(largest + 1, 2**adc_bits)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"adc_full_scale": 0.0}, "adc_full_scale"),
        ({"stuck_at_0_rate": 0.6, "stuck_at_1_rate": 0.6}, "stuck_at_1_rate"),
        ({"on_off_ratio": 1.0}, "on_off_ratio"),
        ({"cell_variation_sigma": -0.1}, "cell_variation_sigma"),
    ],
)
def test_device_effect_keys_are_checked(line, message):
    with pytest.raises(ConfigError, match=message):
        load_config("neurosim-rram-22nm", line)


def test_offset_encoding_of_one_bit_weights_is_refused():
    config = load_config("neurosim-rram-22nm", {"weight_bits": 1})
    x = np.ones((1, 4))
    with pytest.raises(ValueError, match="differential"):
        program(two_crossbar_graph(), config, x)


def test_wilson_interval_closed_forms():
    # 0 of n: [0, z²/n / (1 + z²/n)]; z = 1.96 → 3.8415/10 / 1.38415 = 0.27753
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0, abs=1e-12) and high == pytest.approx(0.27753, abs=1e-5)
    # 50 of 100: 0.5 ± 1.96·sqrt(0.0025 + 1.96²/40000) / (1 + 1.96²/100) = 0.5 ± 0.09617
    assert wilson_interval(50, 100) == pytest.approx((0.40383, 0.59617), abs=1e-5)
    with pytest.raises(ValueError, match="total"):
        wilson_interval(0, 0)


def test_evaluate_counts_accuracy_and_mismatches():
    config = load_config("neurosim-rram-22nm", {"crossbar_rows": 8})
    graph = grid_graph(config, seed=5)
    x = grid_images(6, seed=5)
    ideal = executor.run(graph, x)
    labels = ideal["output"].argmax(1)
    labels[:3] = (labels[:3] + 1) % 4  # the ideal network is right on exactly half
    same = evaluate(graph, lambda b: executor.run(graph, b), x, labels, batch=4)
    cached = evaluate(
        graph, lambda b: executor.run(graph, b), x, labels, 4, ideal_outputs(graph, x, 4)
    )
    assert cached == same
    assert same["accuracy"] == same["ideal_accuracy"] == 0.5
    assert set(same["spike_mismatch"].values()) == {0.0}
    silent = evaluate(
        graph,
        lambda b: {**executor.run(graph, b), "lif2": 0 * ideal["lif2"][:, : len(b)]},
        x,
        labels,
        batch=6,
    )
    assert silent["spike_mismatch"]["lif2"] == pytest.approx(ideal["lif2"].mean())


def test_batches_hold_the_kept_spikes_within_the_budget_and_change_no_result():
    config = load_config("neurosim-rram-22nm", {"crossbar_rows": 8})
    graph = grid_graph(config, seed=5)  # 3 steps; LIFs of 108, 108 and 27 neurons
    per_image = 4 * 3 * (108 + 108 + 27)
    assert images_per_batch(graph) == 500  # small: the most a batch takes
    assert images_per_batch(graph, budget=4 * per_image) == 4
    assert images_per_batch(graph, budget=4 * per_image - 1) == 3
    assert images_per_batch(graph, budget=1) == 1
    x = grid_images(7, seed=5)
    labels = executor.run(graph, x)["output"].argmax(1)
    chip = program(graph, config, x)
    whole = evaluate(graph, lambda b: run(chip, b), x, labels, batch=7)
    assert evaluate(graph, lambda b: run(chip, b), x, labels, batch=3) == whole


def test_layers_too_large_to_program_are_refused_clearly(monkeypatch):
    import simulators.cim.functional as functional

    monkeypatch.setattr(functional, "_MAX_CELLS", 10)
    config = load_config("neurosim-rram-22nm")
    with pytest.raises(ValueError, match="'fc' .* crossbar cells"):
        program(two_crossbar_graph(), config, np.ones((1, 4)))


def test_a_signed_real_input_needs_two_bits():
    config = load_config("spikesim-rram-65nm", {"real_input_bits": 1})  # as SpikeSim charges it
    graph = grid_graph(load_config("spikesim-rram-65nm", {"crossbar_rows": 8}))
    with pytest.raises(ValueError, match="real_input_bits >= 2"):
        program(graph, config, grid_images(2, signed=True))


@given(st.integers(1, 10_000), st.data())
def test_the_wilson_interval_holds_its_proportion(total, data):
    correct = data.draw(st.integers(0, total))
    low, high = wilson_interval(correct, total)
    assert 0.0 <= low <= correct / total <= high <= 1.0
