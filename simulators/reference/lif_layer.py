"""One layer of our discrete LIF, simulated by Brian2 from its recorded input currents.

The update runs in ``run_regularly`` before the threshold, as two statements: ``u = tau*u`` then
``u = u + x(t, i)``. (One combined statement is not bit-exact under Cython's fast-math.) With
Brian2's threshold ``u >= v_th`` and reset ``u = 0`` this is exactly
``u[t] = tau·u[t−1]·(1 − o[t−1]) + x[t]``.
"""

from __future__ import annotations

import brian2 as b2
import numpy as np

from simulators.reference.session import STEP, brian2_scope, input_array, spike_matrix


def brian2_lif_layer(
    x: np.ndarray, tau: float, v_th: float, dtype=np.float64, target: str = "numpy"
) -> tuple[np.ndarray, np.ndarray]:
    """Spikes ``[T, N]`` (bool) and potentials before reset ``[T, N]`` of LIF neurons driven by
    ``x[T, N]``, computed by Brian2 in ``dtype`` with the given code-generation ``target``."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be [T, N], got shape {x.shape}")
    steps, neurons = x.shape
    with brian2_scope(dtype, target):
        current = input_array(x, dtype)
        group = b2.NeuronGroup(
            neurons,
            "u : 1",
            threshold="u >= v_th",
            reset="u = 0",
            namespace={"v_th": v_th, "tau": tau, "current": current},
        )
        group.run_regularly("u = tau*u\nu = u + current(t, i)", when="before_thresholds")
        spikes = b2.SpikeMonitor(group)
        state = b2.StateMonitor(group, "u", record=True, when="after_thresholds")
        b2.Network(group, spikes, state).run(steps * STEP)
        return spike_matrix(spikes, steps, neurons), np.asarray(state.u, dtype=dtype).T
