import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.stats import mean_ci95, t_quantile

# Two-sided 95 % critical values of Student's t, from a printed table (e.g. NIST/SEMATECH
# e-Handbook of Statistical Methods, 1.3.6.7.2, column 0.975)
T_TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
           9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 29: 2.045, 30: 2.042, 60: 2.000,
           100: 1.984}  # fmt: skip


@pytest.mark.parametrize("dof", sorted(T_TABLE))
def test_t_quantile_matches_the_printed_table(dof):
    assert t_quantile(0.95, dof) == pytest.approx(T_TABLE[dof], abs=6e-4)


def test_t_quantile_tends_to_the_normal():
    assert t_quantile(0.95, 100_000) == pytest.approx(1.95996, abs=1e-4)


def test_mean_ci95_by_hand():
    # 1, 2, 3: mean 2, sample sd 1, standard error 1/√3, t(2 dof) = 4.303
    mean, half = mean_ci95([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.303 / math.sqrt(3), rel=1e-4)
    single = mean_ci95([5.0])
    assert single[0] == 5.0 and math.isnan(single[1])
    with pytest.raises(ValueError, match="at least one value"):
        mean_ci95([])


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=30), st.floats(-1e3, 1e3))
def test_shifting_values_moves_the_mean_not_the_width(values, shift):
    mean, half = mean_ci95(values)
    shifted_mean, shifted_half = mean_ci95(np.asarray(values) + shift)
    assert shifted_mean == pytest.approx(mean + shift, abs=1e-6)
    assert shifted_half == pytest.approx(half, rel=1e-6, abs=1e-6)
