"""The main comparison: Real Spike variants × kernel mapping × hardware.

    python -m analyses.energy [--model resnet19] [--variants none,layer,channel,element]
        [--analytic horowitz-45nm-fp32,horowitz-45nm-int8] [--cim PRESETS] [--gpu PRESETS]
        [--dataset cifar10-sample] [--images 8] [--out results/energy/MODEL] [--force]

For every variant: fold the network (layer- and channel-wise keep shared kernels, element-wise
gives unshared ones), trace the images, verify the folding spike for spike, and run every
hardware preset. Writes ``energy.csv`` / ``.md`` / ``.tex`` (one row per variant × preset:
accuracy, firing rate, SOPs exact and rate × dense, MACs, weights, energy per inference with its
breakdown, latency, area, EDP), four figures, ``chip_budget.csv`` / ``.md`` (every CIM preset as
many dies as needed and on one die with reload: :mod:`analyses.chip_budget`), and
``manifest.json`` with the command. Traces and
reports are cached: a second run takes seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from analyses import chip_budget, energy_figures
from rshw import options
from rshw.errors import run_guarded
from rshw.reporting.tables import markdown
from simulators.files import atomic_write_text

COMPONENT_PREFIX = "energy_uj_"


NETWORK_METRICS = ("sops", "firing_rate")
"""Properties of the network on the images, the same on every hardware: from the counts run."""
COUNTS_RUN = ("analytic", "horowitz-45nm-fp32")
"""The run whose exact counts (SOPs, MACs, firing rate) every row of a variant carries."""


def counts_report(result, force: bool):
    """The counts run's report (simulate stage, cached like any other run)."""
    from rshw.pipeline import stages
    from rshw.pipeline.hardware import HardwareRun

    traced = result.traced
    return stages.simulate(HardwareRun(*COUNTS_RUN), traced.folded, traced.trace, force).value


def variant_rows(result, force: bool, basis: str = "native") -> list[dict]:
    """One row per hardware run (preset and settings) of a simulated variant
    (:class:`rshw.pipeline.simulate.Simulated`, its reports on ``basis``): accuracy, counts,
    energy and latency as mean and 95 % CI half-width over the images, area, EDP."""
    from rshw.pipeline.hardware import headline
    from rshw.pipeline.image_stats import image_columns
    from rshw.reporting.summary_table import accuracy_columns
    from simulators.summary import summarize

    folded, activity = result.traced.folded, result.traced.activity
    counts = counts_report(result, force)
    table = summarize(folded.graph)
    unshared = int(table[table.kernels == "unshared"].weights.sum())
    base = {
        "model": folded.graph.meta["model"]["name"],
        "variant": folded.graph.meta["realspike"],
        "mapping": "unshared" if unshared else "shared",
        "weights_label": folded.label,
        "static_input": folded.graph.meta.get("static_input"),
        **accuracy_columns(folded.graph, activity),
        "weights": int(table.weights.sum()),
        "unshared_weights": unshared,
        **{k: v for k, v in image_columns(counts).items() if k.startswith(NETWORK_METRICS)},
        "sops_rate_border_aware": counts.summary["sops_rate_border_aware"],
        "sops_rate_dense_padded": counts.summary["sops_rate_dense_padded"],
        "macs": counts.summary["macs"],
        "paper_formula_uj": counts.summary["paper_formula_pj"] / 1e6,
    }
    rows = []
    for run, product in result.reports.items():
        report = product.value
        row = {**headline(run, report), **base, "basis": basis, "simulator": run.hardware}
        by = report.frame.groupby("component").energy_pj.sum() / 1e6
        row.update({f"{COMPONENT_PREFIX}{c}": v for c, v in by.items()})
        row.update(
            {
                k: v
                for k, v in report.summary.items()
                if k.startswith(("dram_", "crossbars", "tiles")) and not isinstance(v, dict)
            }
        )
        rows.append(row)
    return rows


def layer_table(result) -> pd.DataFrame:
    """Per layer: firing rate (LIF layers) and exact SOPs per inference (weighted layers)."""
    counts = counts_report(result, False)
    sops = counts.frame[counts.frame.event == "sop"].groupby("layer", sort=False).events.sum()
    activity = result.traced.activity
    rows = []
    for node in result.traced.folded.graph:
        if node.op == "lif" and node.name in activity.edges:
            rows.append({"layer": node.name, "firing_rate": activity.rate(node.name), "sops": 0.0})
        elif node.name in sops.index:
            rows.append({"layer": node.name, "firing_rate": None, "sops": float(sops[node.name])})
    return pd.DataFrame(rows)


SHOWN = (
    "basis",
    "variant",
    "mapping",
    "hardware",
    "preset",
    "calibrated",
    "weights_label",
    "test_acc_pct",
    "traced_acc_pct",
    "images",
    "firing_rate",
    "sops",
    "macs",
    "energy_uj",
    "latency_ms",
    "model_error_pct",
    "area_mm2",
    "edp_uj_ms",
)
"""Columns of the Markdown and LaTeX tables; metrics with a ``_ci95`` column show mean ± it."""
FOOTNOTES = (
    "± : 95 % confidence half-width over the images (Student t); n/a: no interval.",
    "calibrated: yes = fitted to H200 measurements; NO = a projection (another preset, the "
    "tuned kernels or an unmeasured dtype), not calibrated; n/a = not a measured kind of model.",
    "model_error_pct: rms latency error of a calibrated model against the timings it was fitted "
    "to (not a spread over images); dense GPU rows have no interval over images (± n/a).",
    "test_acc_pct: the checkpoint's test accuracy (--: untrained or imported); "
    "traced_acc_pct: the folded binary network on the simulated images.",
    "basis: native = each model as its sources built it; common = 8-bit weights, 45 nm 0.9 V "
    "(Stillmaker & Baas 2017 energy scaling), every weight read from DRAM once per inference, "
    "each model's own static energy (simulators/basis.py).",
)


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as printed: mean ± half-width strings, calibration spelled out."""
    from rshw.reporting.summary_table import plus_minus

    shown = table[list(SHOWN)].copy()
    shown["calibrated"] = shown.calibrated.map({True: "yes", False: "NO"}).fillna("n/a")
    shown["test_acc_pct"] = [f"{v:.2f}" if pd.notna(v) else "--" for v in table.test_acc_pct]
    for column in SHOWN:
        if f"{column}_ci95" in table:
            shown[column] = [
                plus_minus(m, h)
                for m, h in zip(table[column], table[f"{column}_ci95"], strict=True)
            ]
    return shown


def write_tables(table: pd.DataFrame, out: Path) -> None:
    atomic_write_text(out / "energy.csv", table.to_csv(index=False))
    shown = shown_table(table)
    notes = "\n".join(f"- {n}" for n in FOOTNOTES)
    atomic_write_text(out / "energy.md", markdown(shown) + "\n" + notes + "\n")
    latex = shown.to_latex(index=False, float_format="%.4g", na_rep="--").replace("±", "$\\pm$")
    notes_tex = "\n".join(f"% {n}" for n in FOOTNOTES)
    atomic_write_text(out / "energy.tex", latex + notes_tex + "\n")


def main(argv: list[str] | None = None) -> int:
    from dataclasses import replace

    from rshw.pipeline.basis import on_basis
    from rshw.pipeline.hardware import HARDWARE, default_settings, expand_runs, module
    from rshw.pipeline.plan import resolve
    from rshw.pipeline.prepare import shipped_name
    from rshw.pipeline.simulate import simulate_plan

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add(p, "model", "variants")
    for hw in HARDWARE:
        p.add_argument(
            f"--{hw}",
            default=None,
            help=f"{hw} presets, a comma list (default: {', '.join(module(hw).COMPARED)}; "
            '"" for none)',
        )
    options.add(
        p,
        "gpu_batches",
        "dataset",
        "data",
        "images",
        "timesteps",
        "static_input",
        "ckpt_dir",
        "out",
        "force",
        "hw_option",
        "basis",
    )
    args = p.parse_args(argv)
    start = time.perf_counter()
    given = options.hw_options([f"gpu.batch={args.gpu_batches}", *args.hw_option])
    runs = []
    for hw in HARDWARE:
        names = getattr(args, hw)
        chosen = names.split(",") if names is not None else module(hw).COMPARED
        settings = {**default_settings(hw), **given.get(hw, {})}
        for name in filter(None, chosen):
            runs += expand_runs((hw,), {hw: name}, {hw: settings})
    runs = on_basis(runs, args.basis)
    out = Path(args.out or f"results/energy/{args.model}")
    rows, verification, layers, budgets = [], {}, {}, []
    for variant in args.variants.split(","):
        ckpt = None
        if args.ckpt_dir:
            candidate = Path(args.ckpt_dir) / shipped_name(args.model, args.dataset, variant)
            ckpt = str(candidate) if candidate.with_suffix(".json").is_file() else None
        request = options.simulate_request(args, variant, ckpt=ckpt)
        result = simulate_plan(replace(resolve(request), runs=tuple(runs)))
        verification[variant] = result.traced.verification.value
        rows += variant_rows(result, args.force, args.basis)
        layers[variant] = layer_table(result)
        budgets += chip_budget.budget_rows(
            result, chip_budget.presets(args.cim), chip_budget.BUDGETS, args.force
        )
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    write_tables(table, out)
    if budgets:  # shared against unshared under a die budget (analyses/chip_budget.py)
        chip_budget.write(budgets, out)
    figures = energy_figures.write_all(table, out, layers)
    manifest = {
        "command": " ".join(sys.argv),
        "arguments": vars(args),
        "runs": [
            {"name": r.name, "hardware": r.hardware, "preset": r.preset, "settings": r.settings}
            for r in runs
        ],
        "verification": verification,
        "figures": [p.name for p in figures],
        "seconds": time.perf_counter() - start,
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, default=str))
    shown = shown_table(table)
    print(
        shown[
            [
                "basis",
                "variant",
                "mapping",
                "hardware",
                "preset",
                "calibrated",
                "energy_uj",
                "latency_ms",
                "test_acc_pct",
                "traced_acc_pct",
                "images",
            ]
        ].to_string(index=False)
    )
    print("\n".join(FOOTNOTES))
    print(
        f"wrote {out}/energy.csv, .md, .tex and {len(figures) // 2} figures "
        f"in {manifest['seconds']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
