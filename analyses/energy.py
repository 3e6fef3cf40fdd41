"""The main comparison: Real Spike variants × kernel mapping × hardware.

    python analyses/energy.py [--model resnet19] [--variants none,layer,channel,element]
        [--analytic horowitz-45nm-fp32,horowitz-45nm-int8] [--cim PRESETS] [--gpu PRESETS]
        [--dataset cifar10-sample] [--images 8] [--out results/energy/MODEL] [--force]

For every variant: fold the network (layer- and channel-wise keep shared kernels, element-wise
gives unshared ones), trace the images, verify the folding spike for spike, and run every
hardware preset. Writes ``energy.csv`` / ``.md`` / ``.tex`` (one row per variant × preset:
accuracy, firing rate, SOPs exact and rate × dense, MACs, weights, energy per inference with its
breakdown, latency, area, EDP), four figures, and ``manifest.json`` with the command. Traces and
reports are cached: a second run takes seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from analyses import energy_figures
from rshw.errors import run_guarded
from rshw.reporting.tables import markdown
from simulators.files import atomic_write_text

COMPONENT_PREFIX = "energy_uj_"


def variant_rows(traced, presets: list[tuple[str, str]], force: bool) -> list[dict]:
    """One row per hardware preset for a traced variant."""
    from rshw.pipeline.hardware import headline
    from rshw.pipeline.simulate import report_for
    from simulators.summary import summarize

    prep, activity = traced.prep, traced.activity
    counts, _ = report_for("analytic", "horowitz-45nm-fp32", traced, force)
    table = summarize(prep.graph)
    unshared = int(table[table.kernels == "unshared"].weights.sum())
    source = prep.graph.meta.get("source", {})
    accuracy = source.get("test_acc") if prep.trained else None
    base = {
        "model": prep.graph.meta["model"]["name"],
        "variant": prep.graph.meta["realspike"],
        "mapping": "unshared" if unshared else "shared",
        "weights_label": prep.label,
        "accuracy_pct": accuracy,
        "accuracy_source": "checkpoint test set"
        if accuracy is not None
        else f"{activity.samples} traced images",
        "accuracy_traced_pct": activity.meta.get("accuracy_on_traced_pct"),
        "weights": int(table.weights.sum()),
        "unshared_weights": unshared,
        "firing_rate": counts.summary["firing_rate"],
        "sops": counts.summary["sops"],
        "sops_rate_dense": counts.summary["sops_rate_dense"],
        "macs": counts.summary["macs"],
        "paper_formula_uj": counts.summary["paper_formula_pj"] / 1e6,
    }
    rows = []
    for hw, preset in presets:
        report, _ = report_for(hw, preset, traced, force)
        row = {**base, **headline(hw, Path(preset).stem, report)}
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


def layer_table(traced) -> pd.DataFrame:
    """Per layer: firing rate (LIF layers) and exact SOPs per inference (weighted layers)."""
    from rshw.pipeline.simulate import report_for

    counts, _ = report_for("analytic", "horowitz-45nm-fp32", traced)
    sops = counts.frame[counts.frame.event == "sop"].groupby("layer", sort=False).events.sum()
    rows = []
    for node in traced.prep.graph:
        if node.op == "lif" and node.name in traced.activity.edges:
            rows.append(
                {"layer": node.name, "firing_rate": traced.activity.rate(node.name), "sops": 0.0}
            )
        elif node.name in sops.index:
            rows.append({"layer": node.name, "firing_rate": None, "sops": float(sops[node.name])})
    return pd.DataFrame(rows)


def write_tables(table: pd.DataFrame, out: Path) -> None:
    atomic_write_text(out / "energy.csv", table.to_csv(index=False))
    shown = table[
        [
            "variant",
            "mapping",
            "hardware",
            "preset",
            "weights_label",
            "firing_rate",
            "sops",
            "macs",
            "energy_uj",
            "latency_ms",
            "area_mm2",
            "edp_uj_ms",
        ]
    ]
    atomic_write_text(out / "energy.md", markdown(shown))
    atomic_write_text(
        out / "energy.tex", shown.to_latex(index=False, float_format="%.4g", na_rep="--")
    )


def main(argv: list[str] | None = None) -> int:
    from rshw.pipeline.hardware import DEFAULT_PRESETS, check_preset
    from rshw.pipeline.simulate import SimulateOptions, prepare_traced

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="resnet19")
    p.add_argument("--variants", default="none,layer,channel,element")
    p.add_argument("--analytic", default="horowitz-45nm-fp32,horowitz-45nm-int8")
    p.add_argument("--cim", default=None, help='CIM presets (default: all; "" for none)')
    p.add_argument("--gpu", default=None, help="GPU presets (default: h200,orin)")
    p.add_argument("--dataset", default="cifar10-sample")
    p.add_argument("--data", default=None)
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--timesteps", "-T", type=int, default=4)
    p.add_argument("--ckpt-dir", default=None, help="folder with MODEL-VARIANT checkpoints")
    p.add_argument("--out", default=None)
    p.add_argument("--force", action="store_true")
    args = p.parse_args(argv)
    start = time.perf_counter()
    presets = []
    for hw, names in (("analytic", args.analytic), ("cim", args.cim), ("gpu", args.gpu)):
        chosen = names.split(",") if names is not None else _default_presets(hw, DEFAULT_PRESETS)
        presets += [(hw, check_preset(hw, name)) for name in chosen if name]
    out = Path(args.out or f"results/energy/{args.model}")
    rows, verification, layers = [], {}, {}
    for variant in args.variants.split(","):
        ckpt = None
        if args.ckpt_dir:
            candidate = Path(args.ckpt_dir) / f"{args.model}-{variant}"
            ckpt = str(candidate) if candidate.with_suffix(".json").is_file() else None
        opts = SimulateOptions(
            model=args.model,
            variant=variant,
            ckpt=ckpt,
            dataset=args.dataset,
            data=args.data,
            images=args.images,
            hardware=(),
            timesteps=args.timesteps,
            force=args.force,
        )
        traced = prepare_traced(opts)
        verification[variant] = traced.verification
        rows += variant_rows(traced, presets, args.force)
        layers[variant] = layer_table(traced)
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    write_tables(table, out)
    figures = energy_figures.write_all(table, out, layers)
    manifest = {
        "command": " ".join(sys.argv),
        "arguments": vars(args),
        "presets": presets,
        "verification": verification,
        "figures": [p.name for p in figures],
        "seconds": time.perf_counter() - start,
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, default=str))
    print(
        pd.read_csv(out / "energy.csv")[
            ["variant", "mapping", "hardware", "preset", "energy_uj", "latency_ms", "area_mm2"]
        ].to_string(index=False, float_format=lambda v: f"{v:.4g}")
    )
    print(
        f"wrote {out}/energy.csv, .md, .tex and {len(figures) // 2} figures "
        f"in {manifest['seconds']:.0f} s"
    )
    return 0


def _default_presets(hw: str, defaults: dict[str, str]) -> list[str]:
    from rshw.pipeline.hardware import preset_names

    if hw == "gpu":
        return [n for n in ("h200", "orin") if n in preset_names("gpu")] or [defaults["gpu"]]
    return preset_names(hw)


if __name__ == "__main__":
    sys.exit(run_guarded(main))
