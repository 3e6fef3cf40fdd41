"""Figures of the variant × hardware comparison (``python -m analyses.energy``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from rshw.reporting import axes as plot_axes
from rshw.reporting import categories, figures

PREFIX = "energy_uj_"
VARIANTS = ("none", "layer", "channel", "element")
COSTS = {"area_mm2": ("area", "mm2"), "dram_bytes": ("DRAM traffic", "B")}
"""Cost axes of ``latency_vs_cost``, in order of preference: the first that differs between the
variants of a panel (area on a chip that grows with the model; DRAM traffic on one that does
not)."""


def _label(table: pd.DataFrame) -> str:
    """Model, weights and, per variant, the accuracy: the checkpoint's test accuracy where it
    has one, else the folded network's on the simulated images (with their number)."""
    labels = sorted(set(table.weights_label))
    accuracies = []
    for variant, row in table.groupby("variant", sort=False).first().iterrows():
        if pd.notna(row.test_acc_pct):
            accuracies.append(f"{variant} {row.test_acc_pct:.1f}% test")
        else:
            accuracies.append(f"{variant} {row.traced_acc_pct:.0f}% on {row.images} images")
    return f"{table.model.iloc[0]} ({', '.join(labels)}; accuracy {', '.join(accuracies)})"


def components(table: pd.DataFrame) -> list[str]:
    """The component columns (``energy_uj_<component>``); the interval column is not one."""
    return [c for c in table.columns if c.startswith(PREFIX) and not c.endswith("ci95")]


def _variants(part: pd.DataFrame) -> list[str]:
    return sorted(
        set(part.variant), key=lambda v: (VARIANTS.index(v) if v in VARIANTS else len(VARIANTS), v)
    )


def energy_breakdown(table: pd.DataFrame, out: Path) -> list[Path]:
    """Energy per inference by category, stacked per variant: one panel (own scale, unit and
    legend) per hardware run and preset. Per-component numbers stay in ``energy.csv``."""
    targets = list(table[["hardware", "preset"]].drop_duplicates().itertuples(index=False))
    columns = components(table)
    rows = int(np.ceil(len(targets) / 2))
    fig, axes = figures.figure(2, 0.2 * rows + 0.08, nrows=rows, ncols=2, squeeze=False)
    for ax, (hw, preset) in zip(axes.flat, targets, strict=False):
        part = table[(table.hardware == hw) & (table.preset == preset)]
        part = part.set_index("variant").loc[_variants(part)]
        simulator = part.simulator.iloc[0]
        energy = pd.DataFrame(
            {
                v: categories.by_category(
                    part.loc[v, columns].fillna(0.0).rename(lambda c: c.removeprefix(PREFIX)),
                    simulator,
                )
                for v in part.index
            }
        ).fillna(0.0)
        unit, factor = plot_axes.unit_for(part.energy_uj, "µJ")
        x = np.arange(len(part))
        bottom = np.zeros(len(part))
        for category, values in energy.iterrows():
            ax.bar(
                x,
                values * factor,
                bottom=bottom,
                width=0.6,
                label=category,
                color=figures.CATEGORY_COLORS.get(category),
            )
            bottom += values.to_numpy() * factor
        half = part.energy_uj_ci95.to_numpy(dtype=float)
        if np.isfinite(half).any():
            has = np.isfinite(half)
            ax.errorbar(
                x[has],
                part.energy_uj.to_numpy()[has] * factor,
                yerr=half[has] * factor,
                fmt="none",
                ecolor="k",
                elinewidth=0.8,
                capsize=2.5,
            )
        ax.set(title=f"{hw}: {preset}", ylabel=f"{unit} per inference")
        ax.set_xticks(x, part.index)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    for ax in axes.flat[len(targets) :]:
        ax.axis("off")
    figures.title(fig, f"{table.model.iloc[0]}: energy per inference by category")
    figures.caption(fig, f"{_label(table)}; bars: 95 % CI over images")
    return figures.save(fig, out / "energy_breakdown")


def _cost(part: pd.DataFrame) -> str | None:
    present = [c for c in COSTS if c in part and part[c].notna().all()]
    varying = [c for c in present if part[c].nunique() > 1]
    return (varying or present or [None])[0]


def latency_vs_cost(table: pd.DataFrame, out: Path) -> list[Path]:
    """Latency against cost (area, or DRAM traffic where the area does not change), one panel
    per hardware run and preset; shared kernels filled, unshared open. The variants are drawn
    side by side (dodged), so points with equal values stay visible."""
    timed = table[table.latency_ms.notna()]
    targets = [
        (key, part)
        for key, part in timed.groupby(["hardware", "preset"], sort=False)
        if _cost(part) is not None
    ]
    if not targets:
        return []
    cols = min(3, len(targets))
    rows = int(np.ceil(len(targets) / cols))
    fig, axes = figures.figure(2, 0.26 * rows + 0.08, nrows=rows, ncols=cols, squeeze=False)
    for ax, ((hw, preset), part) in zip(axes.flat, targets, strict=False):
        column = _cost(part)
        name, unit = COSTS[column]
        x_unit, x_factor = plot_axes.unit_for(part[column], unit)
        y_unit, y_factor = plot_axes.unit_for(part.latency_ms, "ms")
        variants = _variants(part)
        for (variant, mapping), g in part.groupby(["variant", "mapping"], sort=False):
            color = figures.VARIANT_COLORS.get(variant)
            ax.errorbar(
                g[column] * x_factor,
                g.latency_ms * y_factor,
                yerr=g.latency_ms_ci95.fillna(0.0) * y_factor,
                fmt="o",
                ms=4,
                color=color,
                mfc="none" if mapping == "unshared" else color,
                elinewidth=0.8,
                transform=plot_axes.dodge(ax, variants.index(variant), len(variants)),
                label=f"{variant} ({mapping})",
                gid=variant,
            )
        ax.set(xlabel=f"{name} ({x_unit})", ylabel=f"latency ({y_unit})", title=f"{hw}: {preset}")
        ax.margins(0.15)
        plot_axes.limits_from(ax, part[column] * x_factor, part.latency_ms * y_factor)
        plot_axes.log_axis(ax)
    for ax in axes.flat[len(targets) :]:
        ax.axis("off")
    handles = {}
    for ax in axes.flat:
        handles.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    fig.legend(handles.values(), handles.keys(), loc="outside right upper")
    figures.title(fig, f"{table.model.iloc[0]}: latency against cost, shared vs unshared")
    figures.caption(
        fig,
        f"{_label(table)}. Filled: shared kernels; open: unshared. Variants side by side "
        f"({plot_axes.DODGE_PT:g} pt apart) at their values; bars: 95 % CI over images.",
    )
    return figures.save(fig, out / "latency_vs_cost")


def per_layer(
    table: pd.DataFrame, out: Path, reports: dict, column: str, name: str, ylabel: str
) -> list[Path]:
    """Grouped bars over the layers, one bar per variant side by side, so equal values of two
    variants both stay visible; two columns wide (ResNet19 has about 20 layers)."""
    fig, ax = figures.figure(2, 0.3)
    unit = ""
    factor = 1.0
    if column == "sops":
        unit, factor = plot_axes.unit_for(
            np.concatenate([s[column].to_numpy(dtype=float) for s in reports.values()]), "ops"
        )
    variants = _variants(pd.DataFrame({"variant": list(reports)}))
    width = 0.8 / len(variants)
    for variant in variants:
        series = reports[variant]
        shift = (variants.index(variant) - (len(variants) - 1) / 2) * width
        ax.bar(
            np.arange(1, len(series) + 1) + shift,
            series[column] * factor,
            width=width,
            label=variant,
            color=figures.VARIANT_COLORS.get(variant),
        )
    ax.set(xlabel="layer (network order)", ylabel=f"{ylabel} ({unit})" if unit else ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figures.title(fig, f"{table.model.iloc[0]}: {ylabel}")
    return figures.save(fig, out / name)


def write_all(table: pd.DataFrame, out: Path, layers: dict[str, pd.DataFrame]) -> list[Path]:
    """``layers``: per variant, a per-layer frame with ``firing_rate`` and ``sops`` columns."""
    paths = energy_breakdown(table, out)
    if table.latency_ms.notna().any():
        paths += latency_vs_cost(table, out)
    rates = {v: f[f.firing_rate.notna()] for v, f in layers.items()}
    paths += per_layer(
        table, out, rates, "firing_rate", "firing_rates", "firing rate per LIF layer"
    )
    sops = {v: f[f.sops > 0] for v, f in layers.items()}
    paths += per_layer(table, out, sops, "sops", "sops_per_layer", "SOPs per weighted layer")
    return paths
