"""The continuous-time view of our discrete LIF, integrated by Brian2 at a fine time step.

Our step ``u[t] = tau·u[t−1] + x[t]`` (between spikes) is the exact solution, sampled once per
step ``Δ``, of ``dv/dt = −v/τ_m + I(t)`` with ``I(t) = Σ_k x_k·δ(t − kΔ)`` (the step's input
arrives as one charge at its start) and ``tau = exp(−Δ/τ_m)``, i.e. ``τ_m = Δ / ln(1/tau)``:
``τ_m ≈ 0.7213 Δ`` for ``tau = 0.25``. Brian2 integrates the decay exactly on a grid of
``Δ/substeps``, adds each charge as a jump at the start of its step, and checks the threshold on
the fine grid: since the potential only decays between charges, it can only cross ``v_th``
upwards at a charge, so spikes land on the same steps as ours. (NIR's forward-Euler mapping,
``tau = 1 − Δ/τ_m``, describes the same discrete model with another ``τ_m``; see docs/nir.md.)
"""

from __future__ import annotations

import math

import brian2 as b2
import numpy as np

from simulators.reference.session import STEP, brian2_scope, input_array


def membrane_time_constant(tau: float, step_ms: float = 1.0) -> float:
    """``τ_m`` in ms for a per-step decay ``tau`` in (0, 1) and a step of ``step_ms``."""
    if not 0 < tau < 1:
        raise ValueError(f"tau must lie in (0, 1) for a finite membrane time constant, got {tau}")
    return step_ms / math.log(1 / tau)


def continuous_lif(
    x: np.ndarray, tau: float, v_th: float, substeps: int = 100
) -> dict[str, np.ndarray]:
    """Integrate ``x[T, N]`` charges in continuous time; returns the fine-grid times (in steps),
    potentials ``[T·substeps, N]``, the potential just after each step's charge ``[T, N]`` and
    the spikes ``[T, N]``."""
    x = np.asarray(x, np.float64)
    steps, neurons = x.shape
    tau_m = membrane_time_constant(tau) * b2.ms
    with brian2_scope(np.float64, "numpy"):
        b2.defaultclock.dt = STEP / substeps
        charge = input_array(x, np.float64)
        group = b2.NeuronGroup(
            neurons,
            "dv/dt = -v/tau_m : 1",
            threshold="v >= v_th",
            reset="v = 0",
            method="exact",
            namespace={"tau_m": tau_m, "v_th": v_th, "charge": charge},
        )
        group.run_regularly("v = v + charge(t, i)", dt=STEP, when="before_thresholds")
        fine = b2.StateMonitor(group, "v", record=True, when="after_thresholds")
        spikes = b2.SpikeMonitor(group)
        b2.Network(group, fine, spikes).run(steps * STEP)
        v = np.asarray(fine.v).T
        t = np.asarray(fine.t / STEP)
        spike_steps = np.zeros((steps, neurons), bool)
        k = np.floor(np.asarray(spikes.t / STEP) + 1e-9).astype(int)
        spike_steps[k, np.asarray(spikes.i)] = True
    return {"t_steps": t, "v": v, "v_at_steps": v[::substeps], "spikes": spike_steps}
