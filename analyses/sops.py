"""Synaptic operations per layer, by exact event count and by two rate conventions.

    python -m analyses.sops [--model resnet19] [--variants none,layer,channel,element]
        [--dataset cifar10-sample] [--images 8] [--out results/sops/MODEL]

The exact count charges each input spike with its neuron's real fan-out (borders, padding and
strides respected); ``sops_rate_border_aware`` multiplies the layer's input firing rate by its
real synapse count (zero padding skipped); ``sops_rate_dense_padded`` is syops' convention,
rate × ``Cin·kh·kw·Cout·Ho·Wo`` (padding counted as inputs). The rates differ from the exact
count where fan-out is not uniform (small maps, strided layers). Writes ``sops.csv`` / ``.md``
(per layer, variant and step-summed) and ``sops.pdf/.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from rshw import options
from rshw.errors import run_guarded
from rshw.reporting import figures
from rshw.reporting.tables import markdown
from simulators.analytic import SOP_COLUMNS, count
from simulators.files import atomic_write_text


def layer_counts(traced) -> pd.DataFrame:
    """Per weighted layer: the exact count and both rate conventions, with their errors."""
    counts = count(traced.folded.graph, traced.activity)
    cols = [*SOP_COLUMNS, "macs", "input_spikes", "input_neurons"]
    table = counts.groupby(["layer", "op"], sort=False)[cols].sum().reset_index()
    table = table[(table.sops > 0) | (table.macs > 0)].copy()
    exact = table.sops.where(table.sops > 0)
    table["border_aware_error_pct"] = (table.sops_rate_border_aware / exact - 1) * 100
    table["syops_error_pct"] = (table.sops_rate_dense_padded / exact - 1) * 100
    return table


def main(argv: list[str] | None = None) -> int:
    from rshw.pipeline.plan import resolve
    from rshw.pipeline.simulate import simulate_plan

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add(p, "model", "variants", "dataset", "data", "images", "timesteps", "out", "force")
    args = p.parse_args(argv)
    out = Path(args.out or f"results/sops/{args.model}")
    frames = []
    for variant in args.variants.split(","):
        traced = simulate_plan(resolve(options.simulate_request(args, variant))).traced
        frames.append(layer_counts(traced).assign(variant=variant, weights=traced.folded.label))
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
            g.sops_rate_dense_padded / 1e6,
            "x--",
            ms=3,
            lw=0.6,
            color=f"C{k}",
            label=f"{variant} syops (rate×padded)",
        )
    ax.set(
        xlabel="weighted layer with spiking input",
        ylabel="SOPs per inference (M)",
        title=f"{args.model} ({', '.join(sorted(set(table.weights)))}): SOP conventions",
    )
    ax.legend(fontsize=5, ncol=2)
    figures.save(fig, out / "sops")
    total = table.groupby("variant", sort=False)[[*SOP_COLUMNS, "macs"]].sum()
    print(total.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {out}/sops.csv, sops.md, sops.pdf")
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
