"""The executor's max-pool (strided taps, no window view) against a loop over windows."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simulators.executor import pool2d


@given(
    kernel=st.integers(1, 3),
    stride=st.integers(1, 3),
    size=st.integers(3, 9),
    seed=st.integers(0, 1000),
)
def test_max_pool_equals_the_largest_value_of_each_window(kernel, stride, size, seed):
    x = np.random.default_rng(seed).normal(size=(2, 3, size, size + 1)).astype(np.float32)
    got = pool2d(x, kernel, stride, 0, "max")
    rows, cols = (size - kernel) // stride + 1, (size + 1 - kernel) // stride + 1
    assert got.shape == (2, 3, rows, cols)
    for i in range(rows):
        for j in range(cols):
            window = x[:, :, i * stride : i * stride + kernel, j * stride : j * stride + kernel]
            np.testing.assert_array_equal(got[:, :, i, j], window.max(axis=(2, 3)))
