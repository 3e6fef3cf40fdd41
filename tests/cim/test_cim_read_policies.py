"""Laws of how the chip is read (issue 21): calibrated and fixed ADC ranges, differential pairs
subtracted before or after the ADC, rows read in parallel, ADC latency with its bits."""

import numpy as np
import pytest
from functional_graphs import LIF, grid_graph, grid_images
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators import executor
from simulators.cim import load_config
from simulators.cim.functional import program, run
from simulators.cim.mapping import map_layer
from simulators.cim.work import LayerCosts, events
from simulators.config import ConfigError
from simulators.ir import Graph

SLOW_OK = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def spiking_linear(inputs: int, outputs: int, seed: int, zero_row: bool = False) -> Graph:
    """Real input → LIF (exact, digital) → one linear layer on its spikes: the layer sees the
    same spikes when calibrated (ideal network) as when run, so clip counts are comparable."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(size=(outputs, inputs))
    if zero_row:
        weight[0] = 0.0
    g = Graph({"timesteps": 2})
    g.add("input", "input", shape=(inputs,))
    g.add("lif", "lif", ["input"], attrs=LIF)
    g.add("fc", "linear", ["lif"], attrs={"binary_input": True}, weight=weight)
    g.add("output", "output", ["fc"])
    return g.validate()


@SLOW_OK
@given(
    signed=st.sampled_from(["offset", "differential"]),
    subtraction=st.sampled_from(["analog", "digital"]),
    parallel_rows=st.sampled_from([0, 1, 3, 5]),
    accumulation=st.sampled_from(["analog", "digital"]),
    seed=st.integers(0, 2**16),
)
def test_calibrated_range_with_enough_bits_reproduces_the_ideal_spikes(
    signed, subtraction, parallel_rows, accumulation, seed
):
    config = load_config(
        "neurosim-rram-22nm",
        {
            "adc_range": "calibrated",
            "signed_weights": signed,
            "differential_subtraction": subtraction,
            "parallel_rows": parallel_rows,
            "pe_accumulation": accumulation,
            "crossbar_rows": 8,
            "adc_bits": 20,
        },
    )
    graph = grid_graph(config, seed=seed)
    calibration = grid_images(3, seed=seed + 1)  # other images than the ones run
    x = grid_images(4, seed=seed)
    got = run(program(graph, config, calibration, seed=seed), x, keep="all")
    ideal = executor.run(graph, x, keep="all")
    for name in (n.name for n in graph if n.op == "lif"):
        np.testing.assert_array_equal(got[name], ideal[name], err_msg=name)


@SLOW_OK
@given(
    percentile=st.floats(50.0, 100.0),
    adc_bits=st.integers(2, 6),
    parallel_rows=st.sampled_from([0, 16]),
    signed=st.sampled_from(["offset", "differential"]),
    sigma=st.sampled_from([0.0, 0.2]),
    seed=st.integers(0, 2**16),
)
def test_calibrated_range_clips_no_more_than_its_percentile_on_its_calibration_images(
    percentile, adc_bits, parallel_rows, signed, sigma, seed
):
    config = load_config(
        "neurosim-rram-22nm",
        {
            "adc_range_percentile": percentile,
            "adc_bits": adc_bits,
            "parallel_rows": parallel_rows,
            "signed_weights": signed,
            "cell_variation_sigma": sigma,
        },
    )
    graph = spiking_linear(40, 6, seed)
    calibration = np.random.default_rng(seed).uniform(0, 1.2, size=(16, 40))
    chip = program(graph, config, calibration, seed=seed)
    run(chip, calibration)
    assert chip.conversions["fc"] > 0
    assert chip.clipped["fc"] <= chip.conversions["fc"] * (1 - percentile / 100) + 1e-9


def test_a_low_percentile_does_clip_and_the_fixed_range_never_does():
    graph = spiking_linear(40, 6, 0)
    calibration = np.random.default_rng(0).uniform(0, 1.2, size=(16, 40))
    low = program(
        graph, load_config("neurosim-rram-22nm", {"adc_range_percentile": 50}), calibration
    )
    run(low, calibration)
    assert 0 < low.clipped["fc"] <= low.conversions["fc"] / 2
    fixed = program(graph, load_config("neurosim-rram-22nm", {"adc_range": "fixed"}), calibration)
    run(fixed, calibration)
    assert fixed.clipped["fc"] == 0 and fixed.adc_ranges() == {}
    assert low.adc_ranges()["fc"] and len(low.calibration_sha256) == 64


@SLOW_OK
@given(
    subtraction=st.sampled_from(["analog", "digital"]),
    weight_bits=st.integers(2, 7),
    parallel_rows=st.sampled_from([0, 2, 3]),
    adc_range=st.sampled_from(["calibrated", "fixed"]),
    seed=st.integers(0, 2**16),
)
def test_differential_and_offset_cells_agree_exactly_without_variation(
    subtraction, weight_bits, parallel_rows, adc_range, seed
):
    # the same levels ±(2^b - 1): offset cells need b + 1 bits (one is the offset), a pair b each
    common = {"crossbar_rows": 8, "adc_bits": 20, "adc_range": adc_range}
    common["parallel_rows"] = parallel_rows
    offset = load_config(
        "neurosim-rram-22nm", {**common, "signed_weights": "offset", "weight_bits": weight_bits + 1}
    )
    pair = load_config(
        "neurosim-rram-22nm",
        {
            **common,
            "signed_weights": "differential",
            "weight_bits": weight_bits,
            "differential_subtraction": subtraction,
        },
    )
    graph = grid_graph(pair, seed=seed)
    x = grid_images(3, seed=seed)
    a = run(program(graph, offset, x, seed=seed), x, keep="all")
    b = run(program(graph, pair, x, seed=seed), x, keep="all")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@SLOW_OK
@given(
    weight_bits=st.integers(2, 8),
    sigma=st.floats(0.01, 0.5),
    subtraction=st.sampled_from(["analog", "digital"]),
    seed=st.integers(0, 2**16),
)
def test_with_variation_a_zero_weight_costs_differential_cells_nothing(
    weight_bits, sigma, subtraction, seed
):
    # a pair stores 0 as two empty cells, whatever the variation; offset cells store 2^(b-1)
    overrides = {"weight_bits": weight_bits, "cell_variation_sigma": sigma, "adc_bits": 20}
    overrides |= {"signed_weights": "differential", "differential_subtraction": subtraction}
    graph = spiking_linear(64, 3, seed, zero_row=True)
    x = np.full((2, 64), 0.9)  # every input spikes at the first step
    out = run(
        program(graph, load_config("neurosim-rram-22nm", overrides), x, seed=seed), x, keep="all"
    )
    assert np.all(out["fc"][:, :, 0] == 0.0)


def test_with_variation_offset_error_grows_with_the_offset_and_differential_does_not():
    def zero_row_error(signed: str, weight_bits: int) -> float:
        overrides = {"weight_bits": weight_bits, "cell_variation_sigma": 0.1, "adc_bits": 20}
        overrides |= {"signed_weights": signed, "adc_range": "fixed"}
        config = load_config("neurosim-rram-22nm", overrides)
        graph = spiking_linear(128, 3, 0, zero_row=True)
        x = np.full((1, 128), 0.9)
        errors = []
        for seed in range(8):
            chip = program(graph, config, x, seed=seed)
            fc = chip.layers["fc"]
            # the zero row's output in weight levels: the error of the stored offset alone
            errors.append(abs(run(chip, x, keep="all")["fc"][0, 0, 0]) / fc.weights.scale)
        return float(np.mean(errors))

    # offset 2^(b-1) levels of conductance per cell, each off by σ: 16× the offset, 16× error
    assert zero_row_error("offset", 7) > 4 * zero_row_error("offset", 3) > 0
    assert zero_row_error("differential", 7) == zero_row_error("differential", 3) == 0.0


@pytest.mark.parametrize(("parallel_rows", "groups"), [(0, 1), (128, 1), (32, 4), (48, 3)])
@pytest.mark.parametrize("signed", ["offset", "differential"])
def test_conversions_equal_the_hand_count_for_a_small_layer(parallel_rows, groups, signed):
    # 256 spikes into 10 outputs on 128-row crossbars: 2 row blocks; 8-bit weights on 2-bit
    # cells are 4 slices, so 10 outputs convert 40 columns (offset) or 40 pairs (differential,
    # subtracted before the ADC: the pair's 80 columns, 40 conversions) per row group
    config = load_config(
        "neurosim-rram-22nm", {"parallel_rows": parallel_rows, "signed_weights": signed}
    )
    graph = spiking_linear(256, 10, 0)
    m = map_layer(graph, graph["fc"], config, 0)
    hand = 2 * groups * 40
    counts = events(LayerCosts.of(m, config), config, m.row_blocks, m.pe_groups, 1, rows=0)
    assert counts["adc_conversions"] == hand
    x = np.full((1, 256), 0.9)  # every row spikes at step 0 only; the chip reads every step
    chip = program(graph, config, x)
    run(chip, x)
    assert chip.conversions["fc"] == hand * 2  # two time steps


def test_digital_subtraction_converts_both_columns_of_a_pair():
    config = load_config(
        "neurosim-rram-22nm",
        {"signed_weights": "differential", "differential_subtraction": "digital"},
    )
    graph = spiking_linear(256, 10, 0)
    m = map_layer(graph, graph["fc"], config, 0)
    assert events(LayerCosts.of(m, config), config, 2, 1, 1, rows=0)["adc_conversions"] == 2 * 80


@pytest.mark.parametrize(("bits", "cycles"), [(1, 1), (5, 1), (6, 2), (10, 2), (11, 3)])
def test_a_sar_adc_takes_one_comparison_per_bit(bits, cycles):
    # the preset quotes 1 cycle at 5 bits: ceil(bits / 5) cycles
    config = load_config("neurosim-rram-22nm", {"adc_bits": bits})
    assert config.adc_conversion_cycles == cycles
    m = map_layer(spiking_linear(128, 32, 0), spiking_linear(128, 32, 0)["fc"], config, 0)
    costs = LayerCosts.of(m, config)
    assert costs.pe_cycle_cycles == costs.phases * (10 + cycles) + 3  # read 10, overhead 3


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"adc_range": "dynamic"}, "adc_range"),
        ({"adc_range_percentile": 0.0}, "adc_range_percentile"),
        ({"adc_range_percentile": 100.5}, "adc_range_percentile"),
        ({"parallel_rows": 129}, "parallel_rows"),
        ({"signed_weights": "differential", "adc_bits": 1}, "adc_bits"),
    ],
)
def test_read_policy_keys_are_checked(line, message):
    with pytest.raises(ConfigError, match=message):
        load_config("neurosim-rram-22nm", line)


@pytest.mark.parametrize("batch", [1, 3])
def test_calibration_in_batches_chooses_the_same_ranges(monkeypatch, batch):
    import simulators.cim.functional as functional

    config = load_config("neurosim-rram-22nm", {"crossbar_rows": 8, "adc_range_percentile": 90})
    graph = grid_graph(config, seed=4)
    x = grid_images(7, seed=4)
    whole = program(graph, config, x).adc_ranges()
    monkeypatch.setattr(functional, "_CALIBRATION_BATCH", batch)
    assert program(graph, config, x).adc_ranges() == whole
    assert set(whole) == {"stem", "local", "conv", "fc"}
