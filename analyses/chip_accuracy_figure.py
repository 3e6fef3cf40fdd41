"""The chip-accuracy figure: accuracy against ADC bits per read policy, and accuracy against
energy per inference with each panel's Pareto front, CIM per variation level and the GPU.

No text is placed at data points (labels would overprint where points crowd); policies,
variants and dtypes are told apart by colour, line style and marker, named in one legend that
lists exactly the series drawn. Log axes follow the paper style (``rshw.reporting.axes``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rshw.pipeline.sweep import pareto_mask
from rshw.reporting import axes as plot_axes
from rshw.reporting import figures

STYLES = {"channel": "-", "element": "--"}
MARKERS = dict(zip(("fp32", "bf16", "fp16", "int8"), "osD^", strict=True))
DODGE_PT = 2.0
"""Sideways spacing of series that share a value (more than the 1.5 pt the figure tests need)."""


def front(ax, part: pd.DataFrame, right: float) -> None:
    """The panel's own Pareto front (less energy, more accuracy) as a staircase drawn above the
    data and carried on to ``right``, so that a front of one point is still a visible line."""
    if part.empty:
        return
    mask = pareto_mask(np.column_stack([part.energy_uj, -part.accuracy]))
    best = part[mask].sort_values("energy_uj")
    x = [*best.energy_uj, max(right, best.energy_uj.max())]
    y = [*(100 * best.accuracy), 100 * best.accuracy.iloc[-1]]
    ax.plot(x, y, drawstyle="steps-post", color="k", lw=1.0, zorder=5, label="Pareto front")


def _errorbars(ax, part: pd.DataFrame, x: str, label: str, transform, **style) -> None:
    ax.errorbar(
        part[x],
        100 * part.accuracy,
        yerr=[
            100 * (part.accuracy - part.accuracy_ci_low),
            100 * (part.accuracy_ci_high - part.accuracy),
        ],
        ms=3,
        elinewidth=0.5,
        capsize=0,
        label=label,
        gid=label,
        transform=transform,
        **style,
    )


def _by_energy(groups) -> list:
    """Series in order of their mean energy, so that the sideways dodge adds to, never cancels,
    the separation their energies already give them on an energy axis."""
    return sorted(groups, key=lambda item: item[1].energy_uj.mean())


def _ideal(ax, table: pd.DataFrame) -> None:
    for _, g in table.groupby("variant"):
        ax.axhline(100 * g.ideal_accuracy.iloc[0], color="0.5", lw=0.5, ls=":", label="ideal")


def figure(table: pd.DataFrame, out: Path) -> list[Path]:
    """Top: accuracy against ADC bits, a panel per variation σ. Bottom: accuracy against energy
    per inference (log), a panel per σ and the GPU's dtypes, each with its Pareto front. Series
    that share a value are drawn side by side (``DODGE_PT``) at their values."""
    cim = table[table.variation_sigma.notna()] if "variation_sigma" in table else table.iloc[:0]
    gpu = table[table.dtype.notna()] if "dtype" in table else table.iloc[:0]
    sigmas = sorted(cim.variation_sigma.unique()) or [0.0]
    policies = list(dict.fromkeys(cim.policy)) if "policy" in cim else []
    colours = dict(zip(policies, figures.PALETTE, strict=False))
    ncols = len(sigmas) + 1
    fig, axes = figures.figure(2, 0.62, nrows=2, ncols=ncols, squeeze=False)
    for k, sigma in enumerate(sigmas):
        at = cim[cim.variation_sigma == sigma]
        top, bottom = axes[0, k], axes[1, k]
        series = _by_energy(at.groupby(["policy", "variant"], sort=False))
        for n, ((policy, variant), g) in enumerate(series):
            g = g.sort_values("adc_bits")
            style = {"color": colours[policy], "ls": STYLES.get(variant, ":"), "marker": "o"}
            label = f"{policy}, {variant}"
            shift = plot_axes.dodge(top, n, len(series), DODGE_PT)
            _errorbars(top, g, "adc_bits", label, shift, **style)
            shift = plot_axes.dodge(bottom, n, len(series), DODGE_PT)
            _errorbars(bottom, g, "energy_uj", label, shift, **style, alpha=0.8)
        for ax in (top, bottom):
            _ideal(ax, at)
        plot_axes.limits_from(top, at.adc_bits, 100 * at.accuracy_ci_low)
        top.update_datalim(np.column_stack([at.adc_bits, 100 * at.accuracy_ci_high]))
        top.margins(x=0.08)
        top.autoscale_view()
        top.set(xlabel="ADC bits", ylabel="accuracy (%)", title=f"CIM, σ = {sigma:g}")
        plot_axes.limits_from(bottom, at.energy_uj, 100 * at.accuracy_ci_low)
        bottom.update_datalim(np.column_stack([at.energy_uj, 100 * at.accuracy_ci_high]))
        bottom.autoscale_view()
        front(bottom, at, at.energy_uj.max())
        bottom.set(xlabel="energy per inference (µJ)", ylabel="accuracy (%)")
        plot_axes.log_axis(bottom, "x")
    ax = axes[1, -1]
    series = _by_energy(gpu.groupby(["variant", "dtype"], sort=False))
    for n, ((variant, dtype), g) in enumerate(series):
        label = f"GPU {dtype}, {variant}"
        style = {"color": figures.VARIANT_COLORS.get(variant), "ls": "none"}
        shift = plot_axes.dodge(ax, n, len(series), DODGE_PT)
        _errorbars(ax, g, "energy_uj", label, shift, marker=MARKERS.get(dtype, "x"), **style)
    if len(gpu):
        _ideal(ax, gpu)
        plot_axes.limits_from(ax, gpu.energy_uj, 100 * gpu.accuracy_ci_low)
        ax.update_datalim(np.column_stack([gpu.energy_uj, 100 * gpu.accuracy_ci_high]))
        ax.autoscale_view()
        front(ax, gpu, gpu.energy_uj.max())
        plot_axes.log_axis(ax, "x")
    ax.set(xlabel="energy per inference (µJ)", ylabel="accuracy (%)")
    ax.set_title(f"GPU: {gpu.preset.iloc[0]}" if len(gpu) else "GPU")
    axes[0, -1].set_axis_off()  # the legend's place
    handles = {}
    for panel in axes.flat:
        handles.update(zip(*reversed(panel.get_legend_handles_labels()), strict=True))
    fig.legend(handles.values(), handles.keys(), loc="outside right upper", fontsize=5)
    figures.title(fig, "accuracy on the chip: by ADC bits (top), against energy (bottom)")
    figures.caption(
        fig,
        "Bars: Wilson 95 % interval. Policy: ADC range / cells / rows read at once (0: all). "
        "Solid: channel (shared kernels); dashed: element (unshared). Dotted: the ideal network. "
        f"Series side by side ({DODGE_PT:g} pt apart).",
    )
    return figures.save(fig, out / "chip_accuracy")
