"""Mean and 95 % confidence interval over images, without scipy.

The Student t quantile comes from the exact closed form of the t distribution's CDF for an
integer number of degrees of freedom (Abramowitz & Stegun 26.7.3–26.7.4), inverted by bisection:
exact for every sample size, no table to go stale, no extra dependency.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

CONFIDENCE = 0.95


def t_central_probability(t: float, dof: int) -> float:
    """``P(|T| <= t)`` for Student's t with ``dof`` (integer >= 1) degrees of freedom."""
    if dof < 1:
        raise ValueError(f"degrees of freedom must be an integer >= 1, got {dof}")
    theta = math.atan(t / math.sqrt(dof))
    s, c = math.sin(theta), math.cos(theta)
    if dof % 2:  # odd: (2/π)(θ + sinθ (cosθ + 2/3 cos³θ + ...)) with dof - 2 as last power
        term, total = c, c if dof > 1 else 0.0
        for k in range(3, dof - 1, 2):
            term *= (k - 1) / k * c * c
            total += term
        return 2 / math.pi * (theta + s * total)
    term, total = 1.0, 1.0  # even: sinθ (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + ...)
    for k in range(2, dof - 1, 2):
        term *= (k - 1) / k * c * c
        total += term
    return s * total


def t_quantile(confidence: float, dof: int) -> float:
    """The ``t`` with ``P(|T| <= t) = confidence`` (two-sided critical value)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    low, high = 0.0, 1.0
    while t_central_probability(high, dof) < confidence:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        if t_central_probability(mid, dof) < confidence:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * high:
            break
    return (low + high) / 2


def mean_ci95(values: Iterable[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % Student t interval (NaN for a single value)."""
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        raise ValueError("mean_ci95 needs at least one value")
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan
    sem = float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, t_quantile(CONFIDENCE, x.size - 1) * sem


def summarize_per_image(per_image: pd.DataFrame) -> dict[str, float]:
    """``images`` plus ``<metric>_mean`` and ``<metric>_ci95`` of every metric column."""
    summary: dict[str, float] = {"images": len(per_image)}
    for column in per_image.columns:
        if column == "image":
            continue
        mean, half = mean_ci95(per_image[column])
        summary[f"{column}_mean"], summary[f"{column}_ci95"] = mean, half
    return summary
