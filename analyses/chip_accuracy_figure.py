"""The chip-accuracy figure: accuracy against ADC bits per read policy, and accuracy against
energy per inference with each panel's Pareto front, CIM per variation level and the GPU.

No text is placed at data points (labels would overprint where points crowd); policies,
variants and dtypes are told apart by colour, line style and marker, named in the legends.
Log axes carry ticks at 1, 2 and 5 per decade, widened to three around a narrow range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from rshw.pipeline.sweep import pareto_mask
from rshw.reporting import figures

STYLES = {"channel": "-", "element": "--"}
MARKERS = dict(zip(("fp32", "bf16", "fp16", "int8"), "osD^", strict=True))


def _series_125(low: float, high: float) -> list[float]:
    """1, 2, 5 × 10^k from the largest at or below ``low`` to the smallest at or above
    ``high``, widened upwards until it holds three values."""
    values = [m * 10.0**k for k in range(-6, 10) for m in (1, 2, 5)]
    start = max(i for i, v in enumerate(values) if v <= low * (1 + 1e-9))
    end = min(i for i, v in enumerate(values) if v >= high * (1 - 1e-9))
    return values[start : max(end, start + 2) + 1]


def log_axis(ax) -> None:
    """Log x-axis labelled at 1, 2, 5 × 10^k (plain numbers), its limits widened to the
    ticks around the data, so even a narrow range shows three labelled values."""
    low, high = ax.dataLim.intervalx
    if not np.isfinite([low, high]).all():  # an empty panel
        return
    ticks = _series_125(max(low, 1e-6), max(high, low, 1e-6))
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(ticks[0] / 1.08, ticks[-1] * 1.08)


def front(ax, part: pd.DataFrame) -> None:
    """The panel's own Pareto front (less energy, more accuracy): a black step line with its
    points ringed, drawn above the data."""
    if part.empty:
        return
    mask = pareto_mask(np.column_stack([part.energy_uj, -part.accuracy]))
    best = part[mask].sort_values("energy_uj")
    ax.plot(
        best.energy_uj,
        100 * best.accuracy,
        drawstyle="steps-post",
        color="k",
        lw=1.0,
        marker="o",
        ms=6,
        mfc="none",
        mec="k",
        zorder=5,  # above the data, ringed: a front of one point is still seen
        label="Pareto front",
    )


def _errorbars(ax, part: pd.DataFrame, x: str, **style) -> None:
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
        **style,
    )


def figure(table: pd.DataFrame, out: Path) -> list[Path]:
    """Top: accuracy against ADC bits, a panel per variation σ. Bottom: accuracy against energy
    per inference (log), a panel per σ and the GPU's dtypes, each with its Pareto front."""
    cim = table[table.hardware == "cim"]
    gpu = table[table.hardware == "gpu"]
    sigmas = sorted(cim.variation_sigma.dropna().unique()) or [0.0]
    policies = list(dict.fromkeys(cim.policy)) if "policy" in cim else []
    colours = {p: f"C{k}" for k, p in enumerate(policies)}
    ncols = len(sigmas) + 1
    fig, axes = figures.figure(2.0, 0.55, nrows=2, ncols=ncols, squeeze=False)
    for k, sigma in enumerate(sigmas):
        at = cim[cim.variation_sigma == sigma]
        top, bottom = axes[0, k], axes[1, k]
        for (policy, variant), g in at.groupby(["policy", "variant"], sort=False):
            g = g.sort_values("adc_bits")
            style = {"color": colours[policy], "ls": STYLES.get(variant, ":"), "marker": "o"}
            _errorbars(top, g, "adc_bits", **style)
            _errorbars(bottom, g, "energy_uj", **{**style, "alpha": 0.8})
        for _, g in at.groupby("variant"):
            for ax in (top, bottom):
                ax.axhline(100 * g.ideal_accuracy.iloc[0], color="0.5", lw=0.5, ls=":")
        front(bottom, at)
        top.set(xlabel="ADC bits", ylabel="accuracy (%)", title=f"CIM, σ = {sigma:g}")
        bottom.set(xlabel="energy per inference (µJ)", ylabel="accuracy (%)")
        log_axis(bottom)
        bottom.legend(fontsize=5, loc="lower right")
    ax = axes[1, -1]
    for k, (_, g) in enumerate(gpu.groupby("variant")):
        for r in g.itertuples():
            _errorbars(
                ax,
                g[g.dtype == r.dtype],
                "energy_uj",
                color=f"C{k}",
                marker=MARKERS.get(r.dtype, "x"),
                ls="none",
            )
    front(ax, gpu)
    ax.set(xlabel="energy per inference (µJ)", ylabel="accuracy (%)")
    ax.set_title(f"GPU: {gpu.preset.iloc[0]}" if len(gpu) else "GPU")
    log_axis(ax)
    handles = [Line2D([], [], color="k", marker="o", mfc="none", label="Pareto front")]
    handles += [Line2D([], [], color="C0", marker=MARKERS[d], ls="none", label=d) for d in MARKERS]
    handles += [
        Line2D([], [], color=f"C{k}", ls="none", marker="s", label=v)
        for k, v in enumerate(sorted(gpu.variant.unique()))
    ]
    ax.legend(handles=handles, fontsize=5, loc="lower right")
    key = axes[0, -1]
    key.axis("off")
    legend = [Line2D([], [], color=colours[p], marker="o", label=p) for p in policies]
    legend += [Line2D([], [], color="k", ls=s, label=v) for v, s in STYLES.items()]
    legend += [Line2D([], [], color="0.5", ls=":", label="ideal network")]
    key.legend(handles=legend, fontsize=6, loc="center", title="ADC range / cells / rows")
    fig.suptitle(
        "accuracy (Wilson 95 % interval) on the chip: by ADC bits (top), against energy (bottom)",
        fontsize=7,
    )
    return figures.save(fig, out / "chip_accuracy")
