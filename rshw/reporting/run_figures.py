"""Figures of one `rshw simulate` run: energy breakdown, firing rates and SOPs per layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from rshw.reporting import axes as plot_axes
from rshw.reporting import categories, figures
from simulators.activity import Activity
from simulators.report import Report


def heading(folded, activity: Activity) -> str:
    """Model, variant, weights and accuracy: the checkpoint's test accuracy where it has one, and
    the folded network's on the simulated images (with their number)."""
    test_acc = folded.graph.meta.get("source", {}).get("test_acc")
    parts = [folded.label]
    if test_acc is not None:
        parts.append(f"test acc. {test_acc:.2f}%")
    traced = activity.meta.get("accuracy_on_traced_pct")
    if traced is not None:
        parts.append(f"{traced:.1f}% on {activity.samples} images")
    record = folded.record
    return f"{Path(record.name).stem} {record.variant} ({', '.join(parts)})"


def category_energy(report: Report) -> pd.Series:
    """Energy per inference (pJ) by category of the report's hardware (its own map)."""
    by = report.frame.groupby("component").energy_pj.sum()
    return categories.by_category(by, categories.report_hardware(report))


def energy_breakdown(folder: Path, reports: dict[str, Report], title: str) -> list[Path]:
    """One panel per hardware model (own scale and unit, own legend): its energy per inference
    stacked by category, with the 95 % CI over images as an error bar where the model gives one.
    Models differ by orders of magnitude, so they never share an axis. The per-component numbers
    are in each ``report-*.parquet``."""
    from rshw.pipeline.image_stats import image_columns

    cols = min(4, len(reports))
    rows = -(-len(reports) // cols)
    fig, axes = figures.figure(2, 0.45 * rows + 0.05, nrows=rows, ncols=cols, squeeze=False)
    for ax, (hw, report) in zip(axes.flat, reports.items(), strict=False):
        energy = category_energy(report)
        unit, factor = plot_axes.unit_for([energy.sum()], "pJ")
        bottom = 0.0
        for category, value in energy.items():
            ax.bar(
                [0],
                [value * factor],
                bottom=bottom,
                width=0.5,
                label=category,
                color=figures.CATEGORY_COLORS.get(category),
            )
            bottom += value * factor
        stats = image_columns(report)
        if not np.isnan(stats["energy_uj_ci95"]):
            to_unit = factor * 1e6  # µJ -> pJ -> the panel's unit
            ax.errorbar(
                [0],
                [stats["energy_uj"] * to_unit],
                yerr=[stats["energy_uj_ci95"] * to_unit],
                fmt="none",
                ecolor="k",
                elinewidth=0.8,
                capsize=3,
            )
        ax.set(ylabel=f"{unit} per inference", title=f"{hw}: {bottom:.3g} {unit}", xticks=[])
        ax.set_xlim(-0.6, 0.6)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02))
    for ax in axes.flat[len(reports) :]:
        ax.axis("off")
    figures.title(fig, f"{title}: energy per inference by category")
    return figures.save(fig, folder / "energy_breakdown")


def firing_rates(folder: Path, activity: Activity, graph, title: str) -> list[Path]:
    """Mean firing rate of every LIF layer (over images and steps)."""
    lifs = [n.name for n in graph if n.op == "lif" and n.name in activity.edges]
    rates = [activity.rate(n) for n in lifs]
    fig, ax = figures.figure(1, 0.7)
    ax.bar(range(1, len(lifs) + 1), rates)
    ax.set(xlabel="LIF layer (network order)", ylabel="firing rate")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    figures.title(fig, f"{title}: firing rates")
    return figures.save(fig, folder / "firing_rates")


def sops_per_layer(folder: Path, analytic: Report, title: str) -> list[Path]:
    """Synaptic operations (exact) and MACs per weighted layer, per inference."""
    frame = analytic.frame[analytic.frame.event.isin(["sop", "mac"])]
    table = frame.pivot_table(
        index="layer", columns="event", values="events", aggfunc="sum", sort=False
    ).fillna(0.0)
    prefix, factor = plot_axes.unit_for(table.to_numpy().ravel(), "ops")
    fig, ax = figures.figure(1, 0.7)
    x = np.arange(1, len(table) + 1)
    for k, event in enumerate(table.columns):
        ax.bar(
            x + 0.4 * k - 0.2,
            table[event] * factor,
            width=0.4,
            label=event.upper() + "s",
            color=figures.PALETTE[k],
        )
    ax.set(
        xlabel="weighted layer (network order)",
        ylabel=f"operations per inference ({prefix})" if prefix else "operations per inference",
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    figures.title(fig, f"{title}: operations per layer")
    return figures.save(fig, folder / "ops_per_layer")


def counts_operations(report: Report) -> bool:
    """Whether a report counts synaptic operations per layer (event ``sop``)."""
    return "event" in report.frame and bool((report.frame.event == "sop").any())


def write_run_figures(
    folder: Path, reports: dict[str, Report], activity: Activity, folded
) -> list[Path]:
    """The run's figures; the operations per layer from the first report that counts them."""
    title = heading(folded, activity)
    paths = energy_breakdown(folder, reports, title)
    paths += firing_rates(folder, activity, folded.graph, title)
    counting = [r for r in reports.values() if counts_operations(r)]
    if counting:
        paths += sops_per_layer(folder, counting[0], title)
    return paths
