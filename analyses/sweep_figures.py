"""Pareto-front figures of a sweep: every pair of energy, latency and area."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from rshw.pipeline.sweep import pareto_mask
from rshw.reporting import axes as plot_axes
from rshw.reporting import figures

OBJECTIVES = {
    "energy_uj": "energy (µJ)",
    "latency_ms": "latency (ms)",
    "area_mm2": "area (mm²)",
    "top1_error_pct": "top-1 error (%)",  # with [sweep] accuracy_images: accuracy as an objective
}


def mark_pareto(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``pareto``: no point of the same hardware kind is at least as good in every objective
    it has (energy, latency, area, top-1 error) and better in one."""
    table = table.copy()
    table["pareto"] = False
    feasible = table.feasible.astype(bool) if "feasible" in table else True
    for _, group in table[feasible].groupby("hardware"):
        objectives = [c for c in OBJECTIVES if c in group and group[c].notna().all()]
        if objectives:
            table.loc[group.index, "pareto"] = pareto_mask(group[objectives].to_numpy())
    return table


def pareto(table: pd.DataFrame, out: Path) -> list[Path]:
    """Each pair of objectives (log axes); dominated points faded, the Pareto front outlined."""
    pairs = [
        (x, y)
        for x, y in combinations(OBJECTIVES, 2)
        if x in table and y in table and table[[x, y]].notna().all(axis=1).any()
    ]
    if not pairs:
        return []
    rows = int(np.ceil(len(pairs) / 3))
    cols = min(3, len(pairs))
    fig, axes = figures.figure(2, 0.3 * rows + 0.06, nrows=rows, ncols=cols, squeeze=False)
    for ax, (x, y) in zip(axes.flat, pairs, strict=False):
        part = table[table[[x, y]].notna().all(axis=1)]
        for k, ((hw, preset), g) in enumerate(part.groupby(["hardware", "preset"])):
            color = figures.PALETTE[k % len(figures.PALETTE)]
            group = f"{hw}: {preset}"
            front = g[g.pareto]
            ax.scatter(g[x], g[y], s=10, color=color, alpha=0.3, label=group, gid=group)
            ax.scatter(
                front[x], front[y], s=22, color=color, edgecolors="k", linewidths=0.5, gid=group
            )
        ax.set(xlabel=OBJECTIVES[x], ylabel=OBJECTIVES[y])
        ax.margins(0.1)
        plot_axes.log_axis(ax)
    for ax in axes.flat[len(pairs) :]:
        ax.axis("off")
    handles = {}
    for ax in axes.flat:
        handles.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=3)
    figures.title(fig, f"{len(table)} design points; Pareto-optimal ones outlined")
    return figures.save(fig, out / "pareto")
