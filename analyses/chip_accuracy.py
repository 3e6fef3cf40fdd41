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
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from analyses.chip_accuracy_figure import figure
from rshw.errors import run_guarded
from rshw.pipeline.hardware import HardwareRun, headline
from rshw.pipeline.hardware_accuracy import normalized_arrays
from rshw.pipeline.sweep import pareto_mask
from rshw.reporting.tables import markdown
from simulators import executor
from simulators.cim import functional, load_config
from simulators.cim import simulate as cim_simulate
from simulators.cim.functional_accuracy import evaluate, ideal_outputs
from simulators.config import ConfigError
from simulators.files import atomic_write_text
from simulators.gpu import precision
from simulators.gpu import simulate as gpu_simulate

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
        raise ConfigError(
            f"--policies: {policy!r} is not ADC_RANGE/SIGNED_WEIGHTS/PARALLEL_ROWS, "
            "e.g. calibrated/differential/32"
        )
    return dict(zip(POLICY_KEYS, (parts[0], parts[1], int(parts[2])), strict=True))


def variant_points(args, variant: str, checkpoint: str | None, say) -> tuple[list[dict], dict]:
    """Every design point of one Real Spike variant, and what its calibration was."""
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
    rows, ranges, digest = [], {}, ""
    points = [(p, b) for p in args.policies for b in args.adc_bits]
    with tqdm(total=len(points) * len(args.variation) + len(args.dtypes)) as bar:
        for policy, bits in points:
            overrides = {**policy_overrides(policy), "adc_bits": bits}
            try:
                config = load_config(args.preset, overrides)
            except ConfigError as error:  # e.g. a signed conversion needs 2 bits: not a point
                say(f"skipped {policy} at {bits} ADC bits: {error}")
                bar.update(len(args.variation))
                continue
            report = cim_simulate(graph, activity, config, samples=args.energy_images)
            cost = headline(HardwareRun("cim", args.preset, overrides), report)
            for sigma in args.variation:
                varied = load_config(args.preset, {**overrides, "cell_variation_sigma": sigma})
                chip = functional.program(graph, varied, calibration, seed=args.seed)
                result = evaluate(
                    graph, lambda b, c=chip: functional.run(c, b), x, labels, ideal=ideal
                )
                rows.append(
                    {
                        **common,
                        **cost,
                        "policy": policy,
                        **policy_overrides(policy),
                        "adc_bits": bits,
                        "variation_sigma": sigma,
                        "clip_fraction": chip.clip_fraction(),
                        **_flat(result),
                    }
                )
                ranges[f"{variant}|{policy}|{bits}|{sigma:g}"] = chip.adc_ranges()
                digest = chip.calibration_sha256
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
    calibrated = {
        "split": "train",
        "images": len(calibration),
        "seed": args.seed,
        "sha256": digest,
        "adc_ranges": ranges,
    }
    return rows, calibrated


def bits_needed(table: pd.DataFrame, within: float = 0.01) -> pd.DataFrame:
    """Per variant, policy and variation: the fewest ADC bits whose accuracy is within
    ``within`` of the ideal network's (no row when no measured resolution reaches it)."""
    cim = table[table.hardware == "cim"]
    rows = []
    for (variant, policy, sigma), g in cim.groupby(["variant", "policy", "variation_sigma"]):
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
    p.add_argument("-T", "--timesteps", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/chip_accuracy")
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
