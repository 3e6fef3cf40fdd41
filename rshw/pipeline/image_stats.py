"""Per-image metrics of a Report as mean and 95 % confidence half-width, and the ``--images auto``
rule that grows the number of images until every model's energy interval is tight enough.

A Report carries ``per_image`` (one row per traced image: ``image``, ``energy_pj``, ``latency_s``
where the model has latency, ``sops``, ``firing_rate``). A model that has not got one yet gives its
summary value with a NaN half-width: the table then shows that no interval exists, never a fake one.
A model's own error against measurements (``model_error_pct`` in its summary) is passed on as its
own column, never as an interval over images.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from rshw.errors import OptionError
from simulators.report import Report
from simulators.stats import mean_ci95

METRICS = {
    # per-image column: (summary column, scale from the per-image unit)
    "energy_pj": ("energy_uj", 1e-6),
    "latency_s": ("latency_ms", 1e3),
    "sops": ("sops", 1.0),
    "firing_rate": ("firing_rate", 1.0),
}


def per_image(report: Report) -> pd.DataFrame | None:
    """The report's per-image table, or None where the model does not provide one."""
    frame = getattr(report, "per_image", None)
    return frame if isinstance(frame, pd.DataFrame) and len(frame) else None


def image_columns(report: Report) -> dict[str, Any]:
    """``{metric: mean, metric_ci95: half-width, images: n}`` in summary units; None where the
    model has no such quantity (the analytic model has no latency)."""
    frame = per_image(report)
    s = report.summary
    fallback = {
        "energy_pj": s.get("energy_pj", report.total_energy_pj()),
        "latency_s": s.get("latency_s"),
        "sops": s.get("sops"),
        "firing_rate": s.get("firing_rate"),
    }
    out: dict[str, Any] = {
        "images": None if frame is None else len(frame),
        "model_error_pct": s.get("model_error_pct"),
    }
    for column, (name, scale) in METRICS.items():
        if frame is not None and column in frame:
            mean, half = mean_ci95(frame[column])
        elif fallback[column] is not None:
            mean, half = float(fallback[column]), math.nan
        else:
            out[name] = out[f"{name}_ci95"] = None
            continue
        out[name], out[f"{name}_ci95"] = mean * scale, half * scale
    return out


def relative_half_width(row: dict[str, Any]) -> float:
    """Energy CI half-width over the mean (NaN where no interval exists)."""
    mean, half = row["energy_uj"], row["energy_uj_ci95"]
    return half / mean if mean else math.nan


def grow_images(
    measure: Callable[[int], dict[str, float]], start: int, cap: int, target: float
) -> tuple[int, str]:
    """Call ``measure(n)`` (model name -> relative energy half-width at ``n`` images) at ``start``,
    doubling ``n`` until every width is at most ``target`` or ``n`` reaches ``cap`` (NaN widths,
    models without an interval, are left out); returns the last ``n`` and the sentence that says
    which stopped it."""
    if not 2 <= start <= cap:
        raise OptionError(f"--images auto needs 2 <= start ({start}) <= cap ({cap})")
    n = start
    while True:
        # a model with no interval (dense GPU kernels: the same work for every image) has
        # nothing more images could tighten; the others decide
        widths = {k: v for k, v in measure(n).items() if not math.isnan(v)}
        if not widths:
            return n, f"no model has an interval over images; stopped at {n} images"
        worst_name, worst = max(widths.items(), key=lambda kv: kv[1])
        if worst <= target:
            return n, (
                f"stopped by the CI target: every energy half-width <= {target:.2%} of the mean "
                f"at {n} images (widest: {worst_name}, {worst:.2%})"
            )
        if n >= cap:
            return n, (
                f"stopped by the image cap ({cap}): widest energy half-width {worst_name} "
                f"{worst:.2%} > target {target:.2%}"
            )
        n = min(cap, 2 * n)
