"""Accuracy on the chip against energy: ADC bits × conductance variation on the CIM crossbar, and
the GPU dtypes, for shared (``channel``) against unshared (``element``) Real Spike kernels.

    python analyses/chip_accuracy.py --model scnn --dataset mnist \\
        [--ckpt channel=RUN/best --ckpt element=RUN/best] [--images 1000] [--adc-bits 1 ... 8] \\
        [--variation 0 0.05 0.1] [--dtypes fp32 bf16 fp16 int8] [--out results/chip_accuracy]

Every design point is (energy, latency, area, accuracy): energy, latency and area per inference
from the cycle-level model of the same config (``simulators.cim.simulate`` on ``--energy-images``
traced test images; ``simulators.gpu.simulate`` at each dtype), accuracy of the functional
crossbar (``simulators.cim.functional``) or of the dtype emulation (``simulators.gpu.precision``)
on ``--images`` test images, with its Wilson 95 % interval and the fraction of spikes per layer
that differ from the ideal network's. Each point only sets ``adc_bits``: the CIM config itself
scales the preset's ADC energy and area from its ``adc_reference_bits`` by
``2^(bits - reference)`` (``CimConfig.adc_scale``; Walden's figure of merit), so ``make simulate``
with ``--set adc_bits=N`` charges what this table shows.
Writes ``chip_accuracy.csv``, ``chip_accuracy.md`` and ``chip_accuracy.pdf/.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from rshw import options
from rshw.errors import run_guarded
from rshw.pipeline.hardware import HardwareRun, headline
from rshw.pipeline.sweep import pareto_mask
from rshw.reporting import axes as plot_axes
from rshw.reporting import figures
from rshw.reporting.tables import markdown
from simulators.files import atomic_write_text

ADC_SCALING = (
    "ADC energy and area × 2^(bits - preset adc_reference_bits) (Walden figure of merit; "
    "CimConfig.adc_scale)"
)


def variant_points(args, variant: str, checkpoint: str | None, say) -> list[dict]:
    """Every design point of one Real Spike variant, through the cached stages: the network
    folded and traced once, each point's cost from the simulate stage and its accuracy from the
    accuracy stage (test images at the model's T, the cell variation drawn with ``--seed``)."""
    from rshw.pipeline import stages
    from rshw.pipeline.plan import AccuracyRecord, load_split, resolve_data, resolve_model

    record = resolve_model(
        args.model,
        variant,
        args.dataset,
        args.data,
        checkpoint,
        args.timesteps,
        args.seed,
        say=say,
    )
    folded = stages.fold(record, args.force, say)
    split = load_split(args.dataset, args.data, "test", args.timesteps)
    data = resolve_data(
        args.dataset, args.data, args.timesteps, args.energy_images, args.seed, loaded=split
    )
    images = stages.Images(data, split)
    traced = stages.trace(folded.graph, images, args.force)
    stages.verify(folded, traced, images, args.force)
    tested = resolve_data(args.dataset, args.data, args.timesteps, args.images, args.seed)
    accuracy = AccuracyRecord(tested, args.calibration_images)
    common = {"model": args.model, "variant": variant, "trained": folded.label}
    common |= {"images": args.images, "gpu_batch": args.gpu_batch}

    def point(run: HardwareRun, cost_run: HardwareRun) -> dict:
        report = stages.simulate(cost_run, folded, traced, args.force).value
        measured = stages.accuracy(run, folded, accuracy, args.force).value
        return {**common, **headline(cost_run, report), **measured}

    rows = []
    with tqdm(total=len(args.adc_bits) * len(args.variation) + len(args.dtypes)) as bar:
        for bits in args.adc_bits:
            cost_run = HardwareRun("cim", args.preset, {"adc_bits": bits})
            for sigma in args.variation:
                run = HardwareRun(
                    "cim", args.preset, {"adc_bits": bits, "cell_variation_sigma": sigma}
                )
                rows.append({**point(run, cost_run), "adc_bits": bits, "variation_sigma": sigma})
                bar.update()
        for dtype in args.dtypes:
            run = HardwareRun("gpu", args.gpu_preset, {"batch": args.gpu_batch, "dtype": dtype})
            rows.append({**point(run, run), "dtype": dtype})
            bar.update()
    return rows


def mark_pareto(table: pd.DataFrame) -> pd.DataFrame:
    """``pareto``: no other point of the same hardware kind has less energy and no less
    accuracy, or more accuracy and no more energy."""
    table = table.copy()
    table["pareto"] = False
    for _, group in table.groupby("hardware"):
        objectives = np.column_stack([group.energy_uj, -group.accuracy])
        table.loc[group.index, "pareto"] = pareto_mask(objectives)
    return table


def figure(table: pd.DataFrame, out: Path) -> list[Path]:
    """Accuracy against energy per inference, one panel per hardware: each setting a point with
    its Wilson 95 % interval (marker: variation σ, open where σ > 0), labelled with its ADC bits
    or data type where the label does not overprint another; dotted: the ideal network."""
    kinds = list(dict.fromkeys(table.hardware))
    fig, axes = figures.figure(2, 0.42, ncols=len(kinds), squeeze=False)
    sigmas = sorted(table.variation_sigma.dropna().unique()) if "variation_sigma" in table else []
    markers = dict(zip(sigmas, "osD^v<>", strict=False))
    notes = []
    for ax, hardware in zip(axes.flat, kinds, strict=True):
        part = table[table.hardware == hardware]
        variants = list(dict.fromkeys(part.variant))
        for variant, g in part.groupby("variant", sort=False):
            color = figures.VARIANT_COLORS.get(variant)
            shift = plot_axes.dodge(ax, variants.index(variant), len(variants))
            sigma = g.variation_sigma if "variation_sigma" in g else pd.Series(np.nan, g.index)
            for value, s in g.groupby(sigma.fillna(-1.0), sort=True):
                label = variant if value < 0 else f"{variant}, σ = {value:g}"
                _points(ax, s, color, markers.get(value, "o"), label, value > 0, shift)
            plain = g[sigma.fillna(0.0) == 0]
            setting = plain.adc_bits if "adc_bits" in plain else pd.Series(np.nan, plain.index)
            texts = [
                f"{int(b)}" if pd.notna(b) else str(d)
                for b, d in zip(setting, plain.get("dtype", setting), strict=True)
            ]
            notes += plot_axes.label_points(ax, plain.energy_uj, 100 * plain.accuracy, texts, shift)
            ax.axhline(100 * g.ideal_accuracy.iloc[0], color=color, lw=0.6, ls=":")
        front = part[part.pareto].sort_values("energy_uj")
        ax.plot(front.energy_uj, 100 * front.accuracy, color="k", lw=0.8, label="Pareto front")
        ax.set(xlabel="energy per inference (µJ)", ylabel="accuracy (%)")
        ax.set_title(f"{hardware}: {part.preset.iloc[0]}")
        ax.margins(x=0.1)
        plot_axes.limits_from(ax, part.energy_uj, 100 * part.accuracy_ci_low)
        ax.update_datalim(np.column_stack([part.energy_uj, 100 * part.accuracy_ci_high]))
        ax.autoscale_view()
        plot_axes.log_axis(ax, "x")
    handles = {}
    for ax in axes.flat:
        handles.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    fig.legend(handles.values(), handles.keys(), loc="outside right upper")
    figures.title(fig, "accuracy against energy per inference")
    figures.caption(
        fig,
        "Bars: Wilson 95 % interval. Numbers: ADC bits or data type (σ = 0), where they do "
        "not overprint. Dotted: the ideal network. Variants side by side "
        f"({plot_axes.DODGE_PT:g} pt apart). {ADC_SCALING}.",
    )
    plot_axes.drop_overprinted(fig, notes)
    return figures.save(fig, out / "chip_accuracy")


def _points(ax, part: pd.DataFrame, color, marker: str, label: str, hollow: bool, shift) -> None:
    """Accuracy points with their Wilson 95 % intervals as error bars."""
    ax.errorbar(
        part.energy_uj,
        100 * part.accuracy,
        yerr=[
            100 * (part.accuracy - part.accuracy_ci_low),
            100 * (part.accuracy_ci_high - part.accuracy),
        ],
        fmt=marker,
        ms=3.5,
        color=color,
        mfc="none" if hollow else color,
        elinewidth=0.5,
        label=label,
        gid=part.variant.iloc[0],
        transform=shift,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add(p, "data", model="scnn", dataset="mnist")
    p.add_argument("--variants", nargs="+", default=["channel", "element"])
    p.add_argument(
        "--ckpt",
        action="append",
        default=[],
        metavar="VARIANT=PATH",
        help="checkpoint of a variant (default: the shipped one, else an untrained stand-in)",
    )
    p.add_argument("--preset", default="neurosim-rram-22nm", help="CIM preset")
    p.add_argument("--gpu-preset", default="h200")
    p.add_argument("--gpu-batch", type=int, default=256, help="GPU batch (energy per image)")
    p.add_argument("--adc-bits", type=int, nargs="+", default=list(range(1, 9)))
    p.add_argument("--variation", type=float, nargs="+", default=[0.0, 0.05, 0.1])
    p.add_argument("--dtypes", nargs="*", default=["fp32", "bf16", "fp16", "int8"])
    p.add_argument("--images", type=int, default=1000, help="test images for accuracy")
    p.add_argument("--energy-images", type=int, default=8, help="traced images for energy")
    p.add_argument("--calibration-images", type=int, default=256)
    options.add(p, "timesteps", "seed", "force", out="results/chip_accuracy")
    args = p.parse_args(argv)
    checkpoints = dict(item.split("=", 1) for item in args.ckpt)
    unknown = set(checkpoints) - set(args.variants)
    if unknown:
        p.error(f"--ckpt for variant(s) {sorted(unknown)} not in --variants {args.variants}")
    rows = []
    for variant in args.variants:
        rows += variant_points(args, variant, checkpoints.get(variant), say=print)
    table = mark_pareto(pd.DataFrame(rows))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "chip_accuracy.csv", table.to_csv(index=False))
    shown = [
        c
        for c in (
            "variant",
            "hardware",
            "adc_bits",
            "variation_sigma",
            "dtype",
            "energy_uj",
            "latency_ms",
            "area_mm2",
            "accuracy",
            "accuracy_ci_low",
            "accuracy_ci_high",
            "ideal_accuracy",
            "mean_spike_mismatch",
            "pareto",
        )
        if c in table
    ]
    atomic_write_text(
        out / "chip_accuracy.md",
        f"{markdown(table[shown])}\n\n{ADC_SCALING}; command: `{' '.join(sys.argv)}`\n",
    )
    figure(table, out)
    atomic_write_text(out / "manifest.json", json.dumps(vars(args), indent=2))
    print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
