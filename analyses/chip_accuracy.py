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
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from rshw.errors import run_guarded
from rshw.pipeline.hardware import HardwareRun, headline
from rshw.pipeline.hardware_accuracy import normalized_arrays
from rshw.pipeline.sweep import pareto_mask
from rshw.reporting import axes as plot_axes
from rshw.reporting import figures
from rshw.reporting.tables import markdown
from simulators import executor
from simulators.cim import functional, load_config
from simulators.cim import simulate as cim_simulate
from simulators.cim.functional_accuracy import evaluate, ideal_outputs
from simulators.files import atomic_write_text
from simulators.gpu import precision
from simulators.gpu import simulate as gpu_simulate

ADC_SCALING = (
    "ADC energy and area × 2^(bits - preset adc_reference_bits) (Walden figure of merit; "
    "CimConfig.adc_scale)"
)


def variant_points(args, variant: str, checkpoint: str | None, say) -> list[dict]:
    """Every design point of one Real Spike variant."""
    from rshw.data import load_dataset
    from rshw.pipeline.prepare import prepare
    from rshw.pipeline.trace import trace

    train = load_dataset(args.dataset, args.data, "train")
    test = load_dataset(args.dataset, args.data, "test")
    prep = prepare(args.model, variant, train, checkpoint, args.timesteps, args.seed, say=say)
    graph = prep.graph
    x, labels = normalized_arrays(test, args.images, args.seed)
    calibration, _ = normalized_arrays(train, args.calibration_images, args.seed)
    folder = Path(tempfile.mkdtemp(prefix="chip-accuracy-"))
    activity, _ = trace(graph, test, args.energy_images, folder / variant, seed=args.seed)
    ideal = ideal_outputs(graph, x)
    common = {"model": args.model, "variant": variant, "trained": prep.label, "images": len(x)}
    common["gpu_batch"] = args.gpu_batch
    rows = []
    with tqdm(total=len(args.adc_bits) * len(args.variation) + len(args.dtypes)) as bar:
        for bits in args.adc_bits:
            overrides = {"adc_bits": bits}
            report = cim_simulate(
                graph, activity, load_config(args.preset, overrides), samples=args.energy_images
            )
            cost = headline(HardwareRun("cim", args.preset, overrides), report)
            for sigma in args.variation:
                config = load_config(args.preset, {**overrides, "cell_variation_sigma": sigma})
                chip = functional.program(graph, config, calibration, seed=args.seed)
                result = evaluate(
                    graph, lambda b, c=chip: functional.run(c, b), x, labels, ideal=ideal
                )
                rows.append(
                    {**common, **cost, "adc_bits": bits, "variation_sigma": sigma, **_flat(result)}
                )
                bar.update()
        for dtype in args.dtypes:
            report = gpu_simulate(
                graph, activity, args.gpu_preset, batch=args.gpu_batch, dtype=dtype
            )
            run = HardwareRun("gpu", args.gpu_preset, {"batch": args.gpu_batch, "dtype": dtype})
            cost = headline(run, report)
            emulated = precision.Precision(graph, dtype, calibration)
            result = evaluate(
                graph,
                lambda b, p=emulated: executor.run(graph, b, apply=p.apply),
                x,
                labels,
                ideal=ideal,
            )
            rows.append({**common, **cost, "dtype": dtype, **_flat(result)})
            bar.update()
    return rows


def _flat(result: dict) -> dict:
    mismatch = result.pop("spike_mismatch")
    result["mean_spike_mismatch"] = float(np.mean(list(mismatch.values())))
    return {**result, **{f"mismatch:{k}": v for k, v in mismatch.items()}}


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
    p.add_argument("--model", default="scnn")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--data", default=None, help="dataset folder or file (default: searched)")
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
    p.add_argument("-T", "--timesteps", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/chip_accuracy")
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
