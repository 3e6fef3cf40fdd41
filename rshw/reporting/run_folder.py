"""The folder of a simulate run, written from the stages' products: one Report CSV per hardware
run, the summary table, the figures and a manifest that records the plan's records, every
product's cache entry, versions and timings. Built under a private name and swapped in when
complete, so a failed run leaves the previous folder as it was."""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from rshw.pipeline import runcache, stages
from rshw.pipeline.image_stats import image_columns
from rshw.training.checkpoint import git_revision
from simulators.analytic.neurobench import neurobench_counts
from simulators.files import atomic_write_text

PACKAGES = ("torch", "numpy", "simpy", "pandas", "brian2", "nir", "seaborn")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def write_run_folder(plan, result, started: float) -> dict[str, Any]:
    """Write ``plan.out`` from a :class:`rshw.pipeline.simulate.Simulated`; returns the manifest."""
    from rshw.pipeline.simulate import timings
    from rshw.reporting.run_figures import write_run_figures
    from rshw.reporting.summary_table import summary_frame

    traced = result.traced
    folded, activity = traced.folded, traced.activity
    data = traced.images.record
    summary = summary_frame(result, plan.basis)
    reports = {run.name: product.value for run, product in result.reports.items()}
    seconds = timings(result)
    with runcache.swapping(Path(plan.out)) as folder:
        for run, product in result.reports.items():
            product.value.save(folder, f"report-{run.slug}")
        atomic_write_text(folder / "summary.csv", summary.to_csv(index=False))
        figures = write_run_figures(folder, reports, activity, folded)
        seconds["total_s"] = time.perf_counter() - started
        manifest = {
            "command": " ".join(sys.argv),
            "options": {**asdict(plan.request), "hardware": list(plan.request.hardware)},
            "records": {"model": asdict(plan.model), "data": asdict(data)},
            "weights": folded.label,
            "graph": {"fingerprint": folded.graph.fingerprint(), "meta": folded.graph.meta},
            "data": {
                "dataset": plan.dataset,
                "source": data.source,
                "split": data.split,
                "images": activity.samples,
                "images_id": data.images_id,
                "images_stop": result.images_stop,
                "seed": data.seed,
            },
            "verification": traced.verification.value,
            "neurobench": neurobench_counts(folded.graph, activity),
            "activity": {
                "cache": str(activity.path),
                "mean_rate": float(np.mean([activity.rate(e) for e in activity.edges])),
            },
            "accuracy_on_traced_pct": activity.meta.get("accuracy_on_traced_pct"),
            "reports": {
                run.name: {
                    "hardware": run.hardware,
                    "preset": run.preset,
                    "settings": run.settings,
                    "calibrated": run.calibrated,
                    "over_images": image_columns(product.value),
                    "config": product.value.config,
                    "summary": product.value.summary,
                    "cache": product.key,
                }
                for run, product in result.reports.items()
            },
            "notes": [note for run in result.reports for note in run.notes()],
            "figures": [str(p.name) for p in figures],
            "timings_s": seconds,
            "versions": versions(),
            "git_revision": git_revision(),
            "code_hash": stages.code_hash(),
        }
        atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
    return manifest
