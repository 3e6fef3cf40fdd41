"""The axis helpers of the paper style: a unit per panel and readable log axes."""

import matplotlib.pyplot as plt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rshw.reporting.axes import MAX_LABELS, log_axis, unit_for
from tests.figure_checks import log_tick_labels


@pytest.mark.parametrize(
    ("values", "unit", "expected"),
    [
        ([3.0e4], "µJ", ("mJ", 1e-3)),  # 30 mJ, not 30000 µJ
        ([220.0], "µJ", ("µJ", 1.0)),
        ([0.39e6, 6.8e6], "µJ", ("J", 1e-6)),  # the largest value decides: 6.8 J
        ([2.2e8], "pJ", ("µJ", 1e-6)),
        ([0.23], "ms", ("µs", 1e3)),
        ([1520.0], "ms", ("s", 1e-3)),
        ([1.35e8], "B", ("MB", 1e-6)),
        ([4.9e9], "B", ("GB", 1e-9)),
        ([2.6e8], "ops", ("M", 1e-6)),
    ],
)
def test_unit_for_puts_the_largest_value_between_1_and_999(values, unit, expected):
    name, factor = unit_for(values, unit)
    assert name == expected[0] and factor == pytest.approx(expected[1])


@given(st.floats(1e-11, 1e2), st.sampled_from(["pJ", "µJ"]))
def test_scaled_peak_reads_1_to_999_within_the_ladder(joules, unit):
    size = {"pJ": 1e-12, "µJ": 1e-6}[unit]
    _, factor = unit_for([joules / size], unit)
    assert 1 <= joules / size * factor < 1000


@settings(max_examples=40, deadline=None)
@given(st.floats(-6, 6), st.floats(0.0, 5.0), st.booleans())
def test_log_axis_labels_three_to_six_ticks_inside_any_range(low_exp, span_decades, on_y):
    fig, ax = plt.subplots(figsize=(3.5, 2.2))
    low = 10.0**low_exp
    high = low * 10.0**span_decades * (1 + 1e-9)
    (ax.set_ylim if on_y else ax.set_xlim)(low, high)
    log_axis(ax, "y" if on_y else "x")
    axis = ax.yaxis if on_y else ax.xaxis
    fig.canvas.draw()
    labels = log_tick_labels(axis)
    plt.close(fig)
    assert 3 <= len(labels) <= MAX_LABELS
