"""Figures of one `rshw simulate` run: energy breakdown, firing rates and SOPs per layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rshw.reporting import figures
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


def component_energy(report: Report, top: int = 6) -> pd.Series:
    """Energy per inference (µJ) by component, the ``top`` largest and the rest as 'other'."""
    by = report.frame.groupby("component").energy_pj.sum().sort_values(ascending=False) / 1e6
    by = by[by > 0]
    if len(by) > top:
        by = pd.concat([by.iloc[:top], pd.Series({"other": by.iloc[top:].sum()})])
    return by


def energy_breakdown(folder: Path, reports: dict[str, Report], title: str) -> list[Path]:
    """One panel per hardware model (own linear scale): its energy per inference, stacked by
    component, with the 95 % CI over images as an error bar where the model gives one. Models
    differ by orders of magnitude, so they never share an axis."""
    from rshw.pipeline.image_stats import image_columns

    fig, axes = figures.figure(2.0, 0.42, ncols=len(reports), squeeze=False)
    for ax, (hw, report) in zip(axes.flat, reports.items(), strict=True):
        bottom = 0.0
        for k, (component, value) in enumerate(component_energy(report).items()):
            ax.bar([hw], [value], bottom=bottom, color=f"C{k}", label=component, width=0.5)
            bottom += value
        stats = image_columns(report)
        if not np.isnan(stats["energy_uj_ci95"]):
            ax.errorbar(
                [hw],
                [stats["energy_uj"]],
                yerr=[stats["energy_uj_ci95"]],
                fmt="none",
                ecolor="k",
                capsize=2,
            )
        ax.set(ylabel="µJ per inference", title=f"{hw}\n{bottom:.4g} µJ")
        ax.legend(fontsize=5, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.suptitle(f"{title}: energy per inference by component", fontsize=8)
    return figures.save(fig, folder / "energy_breakdown")


def firing_rates(folder: Path, activity: Activity, graph, title: str) -> list[Path]:
    """Mean firing rate of every LIF layer (over images and steps)."""
    lifs = [n.name for n in graph if n.op == "lif" and n.name in activity.edges]
    rates = [activity.rate(n) for n in lifs]
    fig, ax = figures.figure(1.0, 0.6)
    ax.bar(range(len(lifs)), rates, color="C0")
    ax.set(
        xlabel="LIF layer (network order)",
        ylabel="firing rate",
        title=f"{title}: firing rates",
    )
    ax.set_xticks(range(len(lifs)))
    ax.set_xticklabels([str(k + 1) for k in range(len(lifs))], fontsize=5)
    return figures.save(fig, folder / "firing_rates")


def sops_per_layer(folder: Path, analytic: Report, title: str) -> list[Path]:
    """Synaptic operations (exact) and MACs per weighted layer, per inference."""
    frame = analytic.frame[analytic.frame.event.isin(["sop", "mac"])]
    table = frame.pivot_table(
        index="layer", columns="event", values="events", aggfunc="sum", sort=False
    ).fillna(0.0)
    fig, ax = figures.figure(1.0, 0.6)
    x = np.arange(len(table))
    for k, event in enumerate(table.columns):
        ax.bar(
            x + 0.4 * k - 0.2,
            table[event] / 1e6,
            width=0.4,
            label=event.upper() + "s",
            color=f"C{k + 1}",
        )
    ax.set(
        xlabel="weighted layer (network order)",
        ylabel="operations per inference (M)",
        title=f"{title}: operations per layer",
    )
    ax.set_xticks(x)
    ax.set_xticklabels([str(k + 1) for k in x], fontsize=5)
    ax.legend()
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
