import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rshw.training.neurons import LIF, SURROGATES, lif_multistep, surrogate_spike
from simulators.lif import lif_run


def test_recurrence_matches_hand_computed_sequence():
    # tau=0.25, v_th=0.5: u = 0.25*u*(1-o) + x
    x = np.array([0.3, 0.3, 0.3, 0.6, 0.1, 0.5], dtype=np.float64)
    spikes, u = lif_run(x)
    np.testing.assert_allclose(u, [0.3, 0.375, 0.39375, 0.6984375, 0.1, 0.525])
    np.testing.assert_array_equal(spikes, [0, 0, 0, 1, 0, 1])


def test_threshold_is_inclusive_and_reset_is_hard():
    spikes, u = lif_run(np.array([0.5, 2.0, 0.0], dtype=np.float32))
    np.testing.assert_array_equal(spikes, [1, 1, 0])
    np.testing.assert_array_equal(u, [0.5, 2.0, 0.0])  # reset to 0, not by subtraction


def test_custom_tau_and_threshold():
    spikes, u = lif_run(np.array([0.6, 0.6, 0.6]), tau=0.5, v_th=1.0)
    np.testing.assert_allclose(u, [0.6, 0.9, 1.05])
    np.testing.assert_array_equal(spikes, [0, 0, 1])


def test_step_equals_brian2_two_statement_form_bitwise():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.normal(0.3, 0.4, size=(8, 1000)).astype(dtype)
        tau = dtype(0.25)
        spikes, u_ours = lif_run(x, tau=tau)
        u = np.zeros(1000, dtype)
        for t in range(8):
            u = tau * u  # Brian2: u = tau*u; u = u + x; threshold u >= v_th; reset u = 0
            u = u + x[t]
            np.testing.assert_array_equal(u, u_ours[t])
            fired = u >= dtype(0.5)
            np.testing.assert_array_equal(fired, spikes[t] == 1)
            u[fired] = 0


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 6), st.integers(1, 5)),
        elements=st.floats(-2, 2, width=32),
    )
)
def test_torch_forward_equals_numpy_definition(x):
    ours, _ = lif_run(x)
    theirs = lif_multistep(torch.from_numpy(x))
    np.testing.assert_array_equal(ours, theirs.numpy())


def test_module_returns_potentials_and_rejects_bad_shapes():
    x = torch.tensor([[0.3], [0.3], [0.3], [0.6]])
    spikes, u = lif_multistep(x, return_potential=True)
    assert spikes.squeeze().tolist() == [0, 0, 0, 1]
    assert u[1].item() == pytest.approx(0.375)
    with pytest.raises(ValueError, match=r"\[T, B"):
        lif_multistep(torch.zeros(3))
    with pytest.raises(ValueError, match="unknown surrogate"):
        LIF(surrogate="boxcar")


@pytest.mark.parametrize("name", sorted(SURROGATES))
def test_surrogate_integrates_to_one(name):
    half_width = 3000 if name == "atan" else 30  # atan's tails are heavy
    d = torch.linspace(-half_width, half_width, 6_000_001, dtype=torch.float64)
    integral = torch.trapezoid(SURROGATES[name](d), d).item()
    assert integral == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize(
    ("name", "d", "expected"),
    [
        ("rectangular", 0.2, 1.0),
        ("rectangular", 0.6, 0.0),
        ("tanh", 0.0, 3 / (2 * math.tanh(1.5))),
        ("tanh", 0.7, 0.0),
        ("sigmoid", 0.0, 1.0),
        ("atan", 0.0, 1.0),
    ],
)
def test_surrogate_gradient_values(name, d, expected):
    u = torch.tensor([0.5 + d], dtype=torch.float64, requires_grad=True)
    out = surrogate_spike(name)(u - 0.5)
    out.backward()
    assert out.item() == float(d >= 0)
    assert u.grad.item() == pytest.approx(expected)


def test_gradient_flows_through_time_and_detach_reset_changes_only_gradients():
    x = torch.tensor([[0.6], [0.4], [0.3]], dtype=torch.float64, requires_grad=True)
    a = lif_multistep(x, surrogate="sigmoid")
    a.sum().backward()
    grad_attached = x.grad.clone()
    x.grad = None
    b = lif_multistep(x, surrogate="sigmoid", detach_reset=True)
    b.sum().backward()
    assert torch.equal(a, b)
    assert not torch.allclose(grad_attached, x.grad)
    assert (grad_attached != 0).all()
