"""Figures of the variant × hardware comparison (``python -m analyses.energy``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator, NullFormatter

from rshw.reporting import figures

PREFIX = "energy_uj_"
VARIANTS = ("none", "layer", "channel", "element")


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


def _error_bars(ax, x, mean: pd.Series, half: pd.Series) -> None:
    """95 % CI half-widths as vertical error bars, where an interval exists."""
    has = half.notna().to_numpy()
    if has.any():
        ax.errorbar(
            np.asarray(x)[has],
            mean.to_numpy()[has],
            yerr=half.to_numpy()[has],
            fmt="none",
            ecolor="k",
            elinewidth=0.6,
            capsize=1.5,
        )


def energy_breakdown(table: pd.DataFrame, out: Path) -> list[Path]:
    """Stacked energy components per variant, one panel (own linear scale) per preset."""
    targets = table[["hardware", "preset"]].drop_duplicates().to_records(index=False)
    components = [c for c in table.columns if c.startswith(PREFIX)]
    palette = sns.color_palette("tab20" if len(components) <= 20 else "husl", len(components))
    cols = min(3, len(targets))
    rows = int(np.ceil(len(targets) / cols))
    fig, axes = figures.figure(2.0, 0.36 * rows, nrows=rows, ncols=cols, squeeze=False)
    for ax, (hw, preset) in zip(axes.flat, targets, strict=False):
        part = table[(table.hardware == hw) & (table.preset == preset)].set_index("variant")
        bottom = np.zeros(len(part))
        for k, comp in enumerate(components):
            values = part[comp].fillna(0).to_numpy()
            if values.any():
                ax.bar(
                    part.index,
                    values,
                    bottom=bottom,
                    color=palette[k],
                    label=comp.removeprefix(PREFIX),
                )
            bottom += values
        _error_bars(ax, part.index, part.energy_uj, part.energy_uj_ci95)
        ax.set(title=f"{hw}: {preset}", ylabel="µJ / inference (± 95 % CI)")
        ax.tick_params(axis="x", labelsize=6)
    for ax in axes.flat[len(targets) :]:
        ax.axis("off")
    handles = {h.get_label(): h for ax in axes.flat for h in ax.get_legend_handles_labels()[0]}
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=4, fontsize=6)
    fig.suptitle(f"{_label(table)}: energy per inference by component", fontsize=8)
    return figures.save(fig, out / "energy_breakdown")


def latency_vs_cost(table: pd.DataFrame, out: Path) -> list[Path]:
    """Shared (filled) vs unshared (open) kernels: latency against area on the CIM chips, and
    against DRAM traffic per inference on the GPUs (a GPU's die does not grow with the model;
    its memory traffic does)."""
    panels = [("cim", "area_mm2", "area (mm²)"), ("gpu", "dram_bytes", "DRAM traffic (MB)")]
    panels = [p for p in panels if p[1] in table and table.hardware.str.startswith(p[0]).any()]
    if not panels:
        return []
    fig, axes = figures.figure(2.0, 0.4, ncols=len(panels), squeeze=False)
    for ax, (hw, column, label) in zip(axes.flat, panels, strict=True):
        part = table[table.hardware.str.startswith(hw) & table.latency_ms.notna()]
        markers = dict(zip(sorted(set(part.preset)), "os^Dv<>", strict=False))
        scale = 1e-6 if column == "dram_bytes" else 1.0
        groups = part.groupby(["hardware", "preset", "mapping", "variant"])
        for (name, preset, mapping, variant), g in groups:
            color = f"C{VARIANTS.index(variant)}"
            ax.scatter(
                g[column] * scale,
                g.latency_ms,
                marker=markers[preset],
                s=24,
                facecolors="none" if mapping == "unshared" else color,
                edgecolors=color,
                label=f"{name.removeprefix(hw).strip()} {preset} · {variant}".strip(),
            )
            _error_bars(ax, g[column] * scale, g.latency_ms, g.latency_ms_ci95)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel=label,
            ylabel="latency per inference (ms)",
            title=f"{hw.upper()}: shared (filled) vs unshared (open)",
        )
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize=5, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.suptitle(_label(table), fontsize=8)
    return figures.save(fig, out / "latency_vs_cost")


def per_layer(
    table: pd.DataFrame, out: Path, reports: dict, column: str, name: str, ylabel: str
) -> list[Path]:
    fig, ax = figures.figure(1.0, 0.62)
    for variant, series in reports.items():
        ax.plot(
            np.arange(1, len(series) + 1),
            series[column],
            marker="o",
            ms=2.5,
            lw=0.8,
            label=variant,
            color=f"C{VARIANTS.index(variant)}",
        )
    ax.set(xlabel="layer (network order)", ylabel=ylabel, title=f"{_label(table)}: {ylabel}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=6)
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
