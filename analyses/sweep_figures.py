"""Pareto-front figures of a sweep: every pair of energy, latency and area."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pandas as pd
from matplotlib.ticker import NullFormatter

from rshw.pipeline.sweep import pareto_mask
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
    """Each pair of objectives; dominated points faded, the Pareto front outlined."""
    pairs = [
        (x, y)
        for x, y in combinations(OBJECTIVES, 2)
        if x in table and y in table and table[[x, y]].notna().all(axis=1).any()
    ]
    if not pairs:
        return []
    fig, axes = figures.figure(2.0, 0.34, ncols=len(pairs), squeeze=False)
    for ax, (x, y) in zip(axes.flat, pairs, strict=True):
        part = table[table[[x, y]].notna().all(axis=1)]
        for k, ((hw, preset), g) in enumerate(part.groupby(["hardware", "preset"])):
            front = g[g.pareto]
            ax.scatter(g[x], g[y], s=10, color=f"C{k}", alpha=0.25, label=f"{hw}: {preset}")
            ax.scatter(front[x], front[y], s=22, color=f"C{k}", edgecolors="k", linewidths=0.5)
        ax.set(xlabel=OBJECTIVES[x], ylabel=OBJECTIVES[y], xscale="log", yscale="log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    axes.flat[0].legend(fontsize=6, loc="best")
    fig.suptitle(f"{len(table)} design points; Pareto-optimal ones outlined", fontsize=8)
    return figures.save(fig, out / "pareto")
