"""Mean and 95 % confidence interval over images: every per-image metric is reported this way.

The half-width is Student's t (two-sided, 95 %) times the standard error, so it is honest for the
few images a cycle-level simulation affords. numpy only (no scipy): the t quantile is found by
bisection on the t distribution's CDF, integrated with Simpson's rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def t_quantile(probability: float, dof: int) -> float:
    """The ``probability`` quantile (> 0.5) of Student's t with ``dof`` degrees of freedom."""
    if not 0.5 < probability < 1 or dof < 1:
        raise ValueError(f"need 0.5 < probability < 1 and dof >= 1, got {probability}, {dof}")
    log_norm = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)

    def cdf(x: float) -> float:
        t = np.linspace(0.0, x, 4001)
        pdf = np.exp(log_norm - (dof + 1) / 2 * np.log1p(t * t / dof))
        h = x / 4000
        return 0.5 + h / 3 * (pdf[0] + pdf[-1] + 4 * pdf[1:-1:2].sum() + 2 * pdf[2:-1:2].sum())

    low, high = 0.0, 1.0
    while cdf(high) < probability:
        low, high = high, high * 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < probability else (low, mid)
    return (low + high) / 2


def mean_ci95(values: Iterable[float]) -> tuple[float, float]:
    """``(mean, half-width)`` of the 95 % confidence interval of the mean (Student t); the
    half-width is NaN for a single value."""
    x = np.asarray(list(values), float)
    if x.size == 0:
        raise ValueError("mean_ci95 needs at least one value")
    mean = float(x.mean())
    if x.size == 1:
        return mean, float("nan")
    return mean, t_quantile(0.975, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
