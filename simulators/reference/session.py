"""A fresh Brian2 scope with the float type and code-generation target we compare under."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import brian2 as b2
import numpy as np

STEP = 1 * b2.ms
"""One discrete time step of our LIF is one Brian2 clock tick of 1 ms (the unit is nominal)."""

TARGETS = ("numpy", "cython")


def cython_available() -> bool:
    """Cython needs a C compiler; without one only the numpy target runs."""
    try:
        import Cython  # noqa: F401
    except ImportError:
        return False
    return shutil.which("cc") is not None or shutil.which("gcc") is not None


@contextmanager
def brian2_scope(dtype, target: str) -> Iterator[None]:
    """Set Brian2's float dtype and target for one run, and restore them afterwards."""
    if target not in TARGETS:
        raise ValueError(f"unknown Brian2 target {target!r}; choose one of {list(TARGETS)}")
    if target == "cython" and not cython_available():
        raise RuntimeError("the cython target needs Cython and a C compiler; use target='numpy'")
    old = (b2.prefs.core.default_float_dtype, b2.prefs.codegen.target, b2.defaultclock.dt)
    b2.start_scope()
    b2.prefs.core.default_float_dtype = np.dtype(dtype).type
    b2.prefs.codegen.target = target
    b2.defaultclock.dt = STEP
    try:
        yield
    finally:
        b2.prefs.core.default_float_dtype, b2.prefs.codegen.target, b2.defaultclock.dt = old


def input_array(x: np.ndarray, dtype) -> b2.TimedArray:
    """``x[T, N]`` as a TimedArray, with a zero row appended (a TimedArray clamps to its last)."""
    padded = np.vstack([x, np.zeros((1, x.shape[1]))]).astype(dtype)
    return b2.TimedArray(padded, dt=STEP)


def spike_matrix(monitor: b2.SpikeMonitor, steps: int, neurons: int) -> np.ndarray:
    """A SpikeMonitor's events as a bool ``[steps, neurons]`` matrix."""
    out = np.zeros((steps, neurons), bool)
    t = np.rint(np.asarray(monitor.t / STEP)).astype(int)
    keep = t < steps
    out[t[keep], np.asarray(monitor.i)[keep]] = True
    return out
