"""GPU dtype emulation: rounding to the format, fp32 as the ideal, int8 per-channel weights."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators import executor
from simulators.gpu.precision import round_mantissa, run, to_format
from simulators.ir import Graph

LIF = {"tau": 0.25, "v_th": 0.5}


def test_bf16_rounds_to_nearest_even():
    one = np.float32(1.0)
    halfway_down = one + np.float32(2**-8)  # halfway between 1 and 1 + 2^-7: to even (1)
    halfway_up = one + np.float32(3 * 2**-8)  # halfway between 1 + 2^-7 and 1 + 2^-6: to even
    above = one + np.float32(2**-8 + 2**-12)
    got = round_mantissa(np.array([halfway_down, halfway_up, above]), 7)
    np.testing.assert_array_equal(got, [1.0, 1 + 2**-6, 1 + 2**-7])


@given(
    st.floats(-(2.0**100), 2.0**100, allow_nan=False, width=32), st.sampled_from(["bf16", "fp16"])
)
def test_rounding_error_is_at_most_half_a_unit_in_the_last_place(value, dtype):
    bits = 7 if dtype == "bf16" else 10
    if abs(value) < 2**-100 or (dtype == "fp16" and not 2**-14 <= abs(value) < 65504):
        return  # normal numbers of the format only
    got = float(to_format(np.array([value], np.float32), dtype)[0])
    assert abs(got - value) <= abs(value) * 2.0 ** -(bits + 1) * (1 + 1e-6)


def small_graph(seed=0) -> Graph:
    rng = np.random.default_rng(seed)
    g = Graph({"timesteps": 3})
    g.add("input", "input", shape=(1, 5, 5))
    g.add("stem", "conv", ["input"], attrs={"padding": 1}, weight=rng.normal(size=(3, 1, 3, 3)))
    g.add("lif0", "lif", ["stem"], attrs=LIF)
    g.add("flat", "flatten", ["lif0"])
    levels = rng.integers(-127, 128, size=(4, 75))
    levels[:, 0] = 127  # every output channel's peak is 127 steps: int8 stores it exactly
    g.add(
        "fc",
        "linear",
        ["flat"],
        attrs={"binary_input": True},
        weight=levels * np.array([[0.01], [0.02], [0.5], [1.0]]),
    )
    g.add("output", "output", ["fc"])
    return g.validate()


def test_fp32_is_the_ideal_executor_and_int8_keeps_grid_weights():
    g = small_graph()
    x = np.random.default_rng(1).normal(size=(6, 1, 5, 5)).astype(np.float32)
    ideal = executor.run(g, x, keep="all")
    fp32 = run(g, x, "fp32", keep="all")
    for name in ideal:
        np.testing.assert_array_equal(fp32[name], ideal[name])
    int8 = run(g, x, "int8", calibration=x, keep="all")
    # the spikes into fc are exact; the per-channel grid weights too: fc agrees to fp32 rounding
    spikes = int8["lif0"]
    ideal_fc = executor.run(g, x, keep="all", inject={"lif0": spikes})["fc"]
    np.testing.assert_allclose(int8["fc"], ideal_fc, rtol=1e-5, atol=1e-5)


def test_unknown_dtype_and_missing_calibration_are_clear():
    g = small_graph()
    x = np.zeros((1, 1, 5, 5), np.float32)
    with pytest.raises(ValueError, match="choose one of"):
        run(g, x, "fp8")
    with pytest.raises(ValueError, match="calibration"):
        run(g, x, "int8")
