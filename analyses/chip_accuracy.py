"""Accuracy on the chip against energy: how the chip is read (ADC range policy, signed-weight
encoding, rows per conversion) × ADC bits × conductance variation on the CIM crossbar, and the
GPU dtypes, for shared (``channel``) against unshared (``element``) Real Spike kernels.

    python analyses/chip_accuracy.py --model scnn --dataset mnist \\
        [--ckpt channel=RUN/best --ckpt element=RUN/best] [--images 1000] [--adc-bits 2 ... 8] \\
        [--policies calibrated/offset/0 fixed/offset/0 ...] [--variation 0 0.1] \\
        [--dtypes fp32 bf16 fp16 int8] [--out results/chip_accuracy]

A policy is ``ADC_RANGE/SIGNED_WEIGHTS/PARALLEL_ROWS`` (preset keys ``adc_range``,
``signed_weights``, ``parallel_rows``; 0 = every row at once): ``fixed`` spans the theoretical
maximum (the worst case), ``calibrated`` (the field's default) a percentile of the partial sums
on ``--calibration-images`` training images, never test images; ``bits_needed.md`` gives, per
policy, variation and variant, the fewest ADC bits whose accuracy is within one point of the
ideal network's, with its interval.

Every design point is (energy, latency, area, accuracy): energy, latency and area per inference
from the cycle-level model of the same config (``simulators.cim.simulate`` on ``--energy-images``
traced test images; ``simulators.gpu.simulate`` at each dtype), accuracy of the functional
crossbar (``simulators.cim.functional``) or of the dtype emulation (``simulators.gpu.precision``)
on ``--images`` test images, with its Wilson 95 % interval and the fraction of spikes per layer
that differ from the ideal network's. Each point only sets ``adc_bits``: the CIM config itself
scales the preset's ADC energy and area from its ``adc_reference_bits`` by
``2^(bits - reference)`` (``CimConfig.adc_scale``; Walden's figure of merit), so ``make simulate``
with ``--set adc_bits=N`` charges what this table shows.
Writes ``chip_accuracy.csv``, ``chip_accuracy.md``, ``bits_needed.csv/.md``,
``chip_accuracy.pdf/.png``, and ``manifest.json`` with the options, the calibration images
(split, count, seed, SHA-256) and every calibrated design point's ADC full scales.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from analyses.chip_accuracy_figure import figure
from rshw import options
from rshw.errors import OptionError, run_guarded
from rshw.pipeline.hardware import HardwareRun, headline
from rshw.pipeline.sweep import pareto_mask
from rshw.reporting.tables import markdown
from simulators.files import atomic_write_text

ADC_SCALING = (
    "ADC energy and area × 2^(bits - preset adc_reference_bits) (Walden figure of merit; "
    "CimConfig.adc_scale)"
)

POLICY_KEYS = ("adc_range", "signed_weights", "parallel_rows")
POLICIES = (
    "fixed/offset/0",
    "calibrated/offset/0",
    "calibrated/differential/0",
    "calibrated/offset/32",
)


def policy_overrides(policy: str) -> dict:
    """``ADC_RANGE/SIGNED_WEIGHTS/PARALLEL_ROWS`` as preset overrides."""
    parts = policy.split("/")
    if len(parts) != 3 or not parts[2].isdigit():
        raise OptionError(
            f"--policies: {policy!r} is not ADC_RANGE/SIGNED_WEIGHTS/PARALLEL_ROWS, "
            "e.g. calibrated/differential/32"
        )
    return dict(zip(POLICY_KEYS, (parts[0], parts[1], int(parts[2])), strict=True))


def variant_points(args, variant: str, checkpoint: str | None, say) -> tuple[list[dict], dict]:
    """Every design point of one Real Spike variant, through the cached stages: the network
    folded and traced once, each point's cost from the simulate stage and its accuracy from the
    accuracy stage (test images at the model's T, the cell variation drawn with ``--seed``); and
    what the ADC ranges were calibrated on."""
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

    rows, ranges, digest = [], {}, ""
    points = [(p, b) for p in args.policies for b in args.adc_bits]
    with tqdm(total=len(points) * len(args.variation) + len(args.dtypes)) as bar:
        for policy, bits in points:
            read = {**policy_overrides(policy), "adc_bits": bits}
            try:
                cost_run = HardwareRun("cim", args.preset, read)
            except OptionError as error:  # e.g. a signed conversion needs 2 bits: not a point
                say(f"skipped {policy} at {bits} ADC bits: {error}")
                bar.update(len(args.variation))
                continue
            for sigma in args.variation:
                run = HardwareRun("cim", args.preset, {**read, "cell_variation_sigma": sigma})
                row = point(run, cost_run)
                ranges[f"{variant}|{policy}|{bits}|{sigma:g}"] = json.loads(
                    row.pop("adc_ranges_json")
                )
                digest = row.pop("calibration_sha256")
                rows.append({**row, "policy": policy, **read, "variation_sigma": sigma})
                bar.update()
        for dtype in args.dtypes:
            run = HardwareRun("gpu", args.gpu_preset, {"batch": args.gpu_batch, "dtype": dtype})
            rows.append({**point(run, run), "dtype": dtype})
            bar.update()
    calibrated = {
        "split": "train",
        "images": args.calibration_images,
        "seed": args.seed,
        "sha256": digest,
        "adc_ranges": ranges,
    }
    return rows, calibrated


def bits_needed(table: pd.DataFrame, within: float = 0.01) -> pd.DataFrame:
    """Per variant, read policy and variation: the fewest ADC bits whose accuracy is within
    ``within`` of the ideal network's (no row when no measured resolution reaches it)."""
    read = table[table.policy.notna()] if "policy" in table else table.iloc[:0]
    rows = []
    for (variant, policy, sigma), g in read.groupby(["variant", "policy", "variation_sigma"]):
        good = g[g.accuracy >= g.ideal_accuracy - within].sort_values("adc_bits")
        best = good.iloc[0] if len(good) else None
        rows.append(
            {
                "variant": variant,
                "policy": policy,
                "variation_sigma": sigma,
                "ideal_accuracy": g.ideal_accuracy.iloc[0],
                "bits_needed": int(best.adc_bits) if best is not None else None,
                "accuracy": best.accuracy if best is not None else None,
                "accuracy_ci_low": best.accuracy_ci_low if best is not None else None,
                "accuracy_ci_high": best.accuracy_ci_high if best is not None else None,
                "energy_uj": best.energy_uj if best is not None else None,
                "most_bits_tried": int(g.adc_bits.max()),
            }
        )
    return pd.DataFrame(rows)


def mark_pareto(table: pd.DataFrame) -> pd.DataFrame:
    """``pareto``: no other point of the same hardware kind has less energy and no less
    accuracy, or more accuracy and no more energy."""
    table = table.copy()
    table["pareto"] = False
    for _, group in table.groupby("hardware"):
        objectives = np.column_stack([group.energy_uj, -group.accuracy])
        table.loc[group.index, "pareto"] = pareto_mask(objectives)
    return table


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
    p.add_argument("--adc-bits", type=int, nargs="+", default=list(range(2, 9)))
    p.add_argument(
        "--policies",
        nargs="+",
        default=list(POLICIES),
        metavar="RANGE/SIGNED/ROWS",
        help="how the chip is read: adc_range/signed_weights/parallel_rows (0: all rows)",
    )
    p.add_argument("--variation", type=float, nargs="+", default=[0.0, 0.1])
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
    for policy in args.policies:
        policy_overrides(policy)
    rows, calibration = [], {}
    for variant in args.variants:
        points, calibration[variant] = variant_points(
            args, variant, checkpoints.get(variant), say=print
        )
        rows += points
    table = mark_pareto(pd.DataFrame(rows))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "chip_accuracy.csv", table.to_csv(index=False))
    shown = [
        c
        for c in (
            "variant",
            "hardware",
            "policy",
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
            "clip_fraction",
            "pareto",
        )
        if c in table
    ]
    atomic_write_text(
        out / "chip_accuracy.md",
        f"{markdown(table[shown])}\n\n{ADC_SCALING}; command: `{' '.join(sys.argv)}`\n",
    )
    needed = bits_needed(table)
    atomic_write_text(out / "bits_needed.csv", needed.to_csv(index=False))
    atomic_write_text(
        out / "bits_needed.md",
        f"{markdown(needed)}\n\nfewest ADC bits within 1 point of the ideal network; "
        f"command: `{' '.join(sys.argv)}`\n",
    )
    figure(table, out)
    manifest = {"options": vars(args), "calibration": calibration}
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2))
    print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(needed.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
