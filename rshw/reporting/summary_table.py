"""The summary of a simulate run, written from the stages' products: one row per hardware run,
accuracy beside energy, every per-image metric as mean and 95 % CI half-width; and the text the
command prints."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from rshw.pipeline.hardware import headline

SHOWN = ("energy_uj", "latency_ms", "sops", "firing_rate")
"""Metrics printed as ``mean ± half-width``."""


def accuracy_columns(graph, activity) -> dict[str, Any]:
    """The checkpoint's test accuracy (None: untrained or imported) and the folded binary
    network's accuracy on the simulated images, with their number."""
    return {
        "test_acc_pct": graph.meta.get("source", {}).get("test_acc"),
        "traced_acc_pct": activity.meta.get("accuracy_on_traced_pct"),
        "images": activity.samples,
    }


def summary_frame(result, basis: str = "native") -> pd.DataFrame:
    """One row per hardware run of a simulate ``result`` (:class:`rshw.pipeline.simulate.
    Simulated`) on ``basis`` (:mod:`simulators.basis`)."""
    folded, activity = result.traced.folded, result.traced.activity
    base = {
        "model": Path(folded.record.name).stem,
        "variant": folded.record.variant,
        "weights": folded.label,
        "static_input": folded.graph.meta.get("static_input"),
        "basis": basis,
        **accuracy_columns(folded.graph, activity),
    }
    rows = []
    for run, product in result.reports.items():
        row = {**base, **headline(run, product.value)}
        row["images"] = row["images"] or activity.samples
        rows.append({**row, "cached": product.cached})
    return pd.DataFrame(rows)


def plus_minus(mean: Any, half: Any) -> str:
    """``"1.234 ± 0.05"``; ``"--"`` where the model has no such quantity; ``"1.234 ± n/a"`` where
    no interval exists (one image, or a model without per-image numbers)."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "--"
    if half is None or math.isnan(half):
        return f"{mean:.4g} ± n/a"
    return f"{mean:.4g} ± {half:.2g}"


def summary_text(summary: pd.DataFrame, notes: list[str]) -> str:
    """The printed table: metrics as mean ± 95 % CI half-width, the runs' footnotes (each
    hardware's declared ``NOTES``), and one for anything not calibrated against measurements."""
    shown = summary[["hardware", "preset", "calibrated", "images"]].copy()
    shown["calibrated"] = shown.calibrated.map({True: "yes", False: "NO"}).fillna("n/a")
    for metric in SHOWN:
        shown[metric] = [
            plus_minus(m, h)
            for m, h in zip(summary[metric], summary[f"{metric}_ci95"], strict=True)
        ]
    if "model_error_pct" in summary and summary.model_error_pct.notna().any():
        shown["model_error_pct"] = [
            "--" if _missing(e) else f"{e:.1f}" for e in summary.model_error_pct
        ]
    if "host" in summary and summary.host.notna().any():
        shown["host"] = summary.host.fillna("--")
    lines = [shown.to_string(index=False)]
    first = summary.iloc[0]
    test_acc = first.test_acc_pct
    checkpoint = f"n/a ({first.weights})" if _missing(test_acc) else f"{test_acc:.2f}%"
    lines.append(
        f"accuracy: checkpoint test set {checkpoint}; folded binary network on the "
        f"{first.images} simulated images {first.traced_acc_pct:.1f}%"
    )
    lines.append(
        "± : 95 % confidence half-width over images (Student t); n/a: no interval (one image, or "
        "a model that does the same work for every image, e.g. dense GPU kernels)"
    )
    lines += list(dict.fromkeys(notes))
    if "basis" in summary:
        lines.append(f"basis: {first.basis} (simulators/basis.py; docs/energy.md)")
    if "model_error_pct" in shown:
        lines.append(
            "model_error_pct: the model's rms latency error against the real-GPU timings it was "
            "fitted to (not a spread over images); --: not measured"
        )
    if "host" in shown and (shown.host == "projection").any():
        lines.append(
            "host projection: kernel-launch and op costs projected from the calibration's host "
            "(the preset's host_slowdown and its source), not measured on that host"
        )
    correlated = summary.dropna(subset=["energy_sop_correlation"])
    if len(correlated):
        pairs = ", ".join(
            f"{h} {r:.3f}" for h, r in correlated[["hardware", "energy_sop_correlation"]].values
        )
        lines.append(f"per-image energy vs SOPs, Pearson r over the images: {pairs}")
    queue = summary.get("streamed_images_queue", pd.Series(dtype=object)) == True  # noqa: E712
    if queue.any():
        queued = ", ".join(summary.hardware[queue])
        lines.append(
            f"latency ({queued}): a later layer, not the first, is the slowest unit, so the "
            "streamed images queue and the mean latency grows with --images; one image's is "
            "that of --images 1 (docs/import.md)"
        )
    if (summary.calibrated == False).any():  # noqa: E712 (None means "not a measured kind")
        lines.append("calibrated NO: a projection, not fitted to measurements (preset or kernels)")
    return "\n".join(lines)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
