"""Synaptic operations per layer, by exact event count and by the rate × dense convention.

    python analyses/sops.py [--model resnet19] [--variants none,layer,channel,element]
        [--dataset cifar10-sample] [--images 8] [--out results/sops/MODEL]

The exact count charges each input spike with its neuron's real fan-out (borders, padding and
strides respected); the convention of syops and most papers multiplies the layer's input firing
rate by its dense synapse count. They differ where fan-out is not uniform (small maps, strided
layers). Writes ``sops.csv`` / ``.md`` (per layer, variant and step-summed) and ``sops.pdf/.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from rshw.errors import run_guarded
from rshw.reporting import figures
from rshw.reporting.tables import markdown
from simulators.files import atomic_write_text


def layer_counts(traced) -> pd.DataFrame:
    from simulators.analytic import count

    counts = count(traced.prep.graph, traced.activity)
    cols = ["sops", "sops_rate_dense", "macs", "input_spikes", "input_neurons"]
    table = counts.groupby(["layer", "op"], sort=False)[cols].sum().reset_index()
    table = table[(table.sops > 0) | (table.macs > 0)].copy()
    table["convention_error_pct"] = (
        table.sops_rate_dense / table.sops.where(table.sops > 0) - 1
    ) * 100
    return table


def main(argv: list[str] | None = None) -> int:
    from rshw.pipeline.simulate import SimulateOptions, prepare_traced

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="resnet19")
    p.add_argument("--variants", default="none,layer,channel,element")
    p.add_argument("--dataset", default="cifar10-sample")
    p.add_argument("--data", default=None)
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    out = Path(args.out or f"results/sops/{args.model}")
    frames = []
    for variant in args.variants.split(","):
        traced = prepare_traced(
            SimulateOptions(
                model=args.model,
                variant=variant,
                dataset=args.dataset,
                data=args.data,
                images=args.images,
                hardware=(),
            )
        )
        frames.append(layer_counts(traced).assign(variant=variant, weights=traced.prep.label))
    table = pd.concat(frames, ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "sops.csv", table.to_csv(index=False))
    atomic_write_text(out / "sops.md", markdown(table))
    fig, ax = figures.figure(1.0, 0.62)
    for k, (variant, g) in enumerate(table.groupby("variant", sort=False)):
        g = g[g.sops > 0]
        ax.plot(
            range(1, len(g) + 1),
            g.sops / 1e6,
            "o-",
            ms=2.5,
            lw=0.8,
            color=f"C{k}",
            label=f"{variant} exact",
        )
        ax.plot(
            range(1, len(g) + 1),
            g.sops_rate_dense / 1e6,
            "x--",
            ms=3,
            lw=0.6,
            color=f"C{k}",
            label=f"{variant} rate×dense",
        )
    ax.set(
        xlabel="weighted layer with spiking input",
        ylabel="SOPs per inference (M)",
        title=f"{args.model} ({', '.join(sorted(set(table.weights)))}): SOP conventions",
    )
    ax.legend(fontsize=5, ncol=2)
    figures.save(fig, out / "sops")
    total = table.groupby("variant", sort=False)[["sops", "sops_rate_dense", "macs"]].sum()
    print(total.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {out}/sops.csv, sops.md, sops.pdf")
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
