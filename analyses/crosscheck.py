"""Brian2 cross-check of our LIF neurons, layer by layer, on real images.

    python -m analyses.crosscheck --model resnet19 [--variant channel] [--ckpt PATH]
        [--dataset cifar10-sample] [--images 8] [--dtypes float64,float32] [--targets numpy,cython]

Records every LIF layer's input current (after folded BN) on real images, runs the neurons in our
code and in Brian2 from those inputs, and compares spike for spike; also a small fully connected
SNN built from Brian2 ``Synapses``, and the continuous-time view. Writes ``table.csv`` (one row
per layer, dtype and target), ``mismatches.csv``, ``crosscheck.pdf/.png`` and ``summary.json``
into ``--out`` (default ``results/crosscheck/MODEL-VARIANT``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from rshw import options
from rshw.errors import OptionError, run_guarded
from rshw.reporting import figures as style
from simulators.files import atomic_write_text
from simulators.ir import Graph
from simulators.reference import brian2_network, crosscheck_graph
from simulators.reference.continuous import continuous_lif, membrane_time_constant
from simulators.reference.crosscheck import record_lif_inputs
from simulators.reference.session import cython_available


def dyadic_network(seed: int = 0, sizes=(64, 48, 32, 10), steps: int = 8):
    """A random fully connected SNN with weights on a 1/64 grid, and Bernoulli input spikes."""
    rng = np.random.default_rng(seed)
    graph = Graph({"timesteps": steps})
    graph.add("input", "input", shape=(sizes[0],), attrs={"encoding": "events"})
    prev = "input"
    for k, (n_in, n_out) in enumerate(pairwise(sizes)):
        weight = np.round(rng.normal(0.15, 0.35, (n_out, n_in)) * 64) / 64
        bias = np.round(rng.normal(0.0, 0.1, n_out) * 64) / 64
        graph.add(
            f"fc{k + 1}", "linear", [prev], weight=weight, bias=bias, attrs={"binary_input": k > 0}
        )
        prev = graph.add(
            f"lif{k + 1}", "lif", [f"fc{k + 1}"], attrs={"tau": 0.25, "v_th": 0.5}
        ).name
    graph.add("readout", "linear", [prev], weight=np.eye(sizes[-1]), attrs={"binary_input": True})
    graph.add("output", "output", ["readout"])
    return graph.validate(), rng.random((steps, sizes[0])) < 0.3


def network_check(targets: list[str]) -> pd.DataFrame:
    from simulators import executor

    graph, spikes_in = dyadic_network()
    ours = executor.run(graph, spikes_in[:, None, :].astype(np.float64), dtype=np.float64)
    rows = []
    for target in targets:
        theirs = brian2_network(graph, spikes_in, np.float64, target)
        for name, s in theirs.items():
            mine = ours[name][:, 0].astype(bool)
            rows.append(
                {
                    "check": "network",
                    "layer": name,
                    "dtype": "float64",
                    "target": target,
                    "neurons": s.shape[1],
                    "steps": s.shape[0],
                    "spikes_ours": int(mine.sum()),
                    "spikes_brian2": int(s.sum()),
                    "mismatches": int((mine != s).sum()),
                }
            )
    return pd.DataFrame(rows)


def plot(recorded: dict, table: pd.DataFrame, graph: Graph, label: str, out: Path) -> list[Path]:
    """Left: spike raster of one layer, ours and Brian2's. Right: membrane traces of four of its
    neurons, continuous (Brian2, fine grid) and discrete (ours). The layer and neurons shown are
    those that fire on some steps but not all (the informative ones)."""
    from simulators.lif import lif_run
    from simulators.reference import brian2_lif_layer

    def partial(node):
        x = recorded[node.name][:, 0].reshape(recorded[node.name].shape[0], -1)
        counts = lif_run(x, node.attrs["tau"], node.attrs["v_th"])[0].sum(0)
        return x, (counts > 0) & (counts < len(x))

    lifs = [n for n in graph if n.op == "lif"]
    shown = max(lifs, key=lambda n: int(partial(n)[1].sum()))
    tau, v_th = shown.attrs["tau"], shown.attrs["v_th"]
    x, informative = partial(shown)
    chosen = np.flatnonzero(informative)[:40]
    if len(chosen) == 0:
        chosen = np.arange(min(40, x.shape[1]))
    ours, u = lif_run(x[:, chosen], tau, v_th)
    theirs, _ = brian2_lif_layer(x[:, chosen], tau, v_th)
    cont = continuous_lif(x[:, chosen[:4]], tau, v_th)
    fig, (ax_r, ax_m) = style.figure(2.0, 0.32, ncols=2)
    t_o, n_o = np.nonzero(ours)
    t_b, n_b = np.nonzero(theirs)
    ax_r.scatter(t_o, n_o, marker="o", s=18, facecolors="none", edgecolors="C0", label="rshw")
    ax_r.scatter(t_b, n_b, marker="x", s=10, color="C3", label="Brian2")
    ax_r.set(
        xlabel="time step", ylabel="neuron", title=f"{shown.name}: spikes", xticks=range(len(x))
    )
    ax_r.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, handletextpad=0.2)
    for k in range(cont["v"].shape[1]):
        ax_m.plot(cont["t_steps"], cont["v"][:, k] + 1.2 * k, color=f"C{k}", lw=0.8)
        ax_m.plot(np.arange(len(u)), u[:, k] + 1.2 * k, "o", color=f"C{k}", ms=3)
        ax_m.axhline(v_th + 1.2 * k, color="0.6", lw=0.5, ls="--")
    ax_m.set(
        xlabel="time (steps)",
        ylabel="u (offset per neuron)",
        title=f"membrane: continuous, τ_m = {membrane_time_constant(tau):.3f} steps (lines); "
        "discrete (dots)",
    )
    mism = int(table.mismatches.sum())
    fig.suptitle(
        f"{graph.meta.get('model', {}).get('name', 'graph')} ({label}): "
        f"{mism} mismatched spikes over {len(table)} layer runs",
        fontsize=8,
    )
    return style.save(fig, out / "crosscheck")


def main(argv: list[str] | None = None) -> int:
    from rshw.data import load_dataset, make_loader
    from rshw.pipeline.prepare import prepare

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add(p, "model", "variant", "ckpt", "dataset", "data", "images", "timesteps")
    p.add_argument("--dtypes", default="float64,float32")
    p.add_argument(
        "--targets", default=None, help="numpy,cython (default: cython too where a compiler exists)"
    )
    options.add(p, "out")
    args = p.parse_args(argv)
    targets = (args.targets or ("numpy,cython" if cython_available() else "numpy")).split(",")
    out = Path(args.out or f"results/crosscheck/{Path(args.model).stem}-{args.variant}")
    start = time.perf_counter()

    test = load_dataset(args.dataset, args.data, "test", timesteps=args.timesteps)
    prep = prepare(
        args.model,
        args.variant,
        load_dataset(args.dataset, args.data, "train", timesteps=args.timesteps),
        args.ckpt,
        args.timesteps,
    )
    if args.images == "auto":
        raise OptionError("--images auto needs hardware energies to tighten; give a number here")
    images = test.random_subset(args.images, seed=0)
    x, _ = next(iter(make_loader(images, args.images, shuffle=False, augment=False)))
    tables, mismatches, recorded64 = [], [], None
    for dtype in args.dtypes.split(","):
        recorded = record_lif_inputs(prep.graph, x.numpy(), np.dtype(dtype))
        recorded64 = recorded if dtype == "float64" else recorded64 or recorded
        for target in targets:
            table, mism = crosscheck_graph(prep.graph, recorded, dtype, target)
            tables.append(table.assign(check="layer"))
            mismatches.append(mism.assign(dtype=dtype, target=target))
    table = pd.concat([*tables, network_check(targets)], ignore_index=True)
    table.insert(0, "weights", prep.label)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "table.csv", table.to_csv(index=False))
    atomic_write_text(out / "mismatches.csv", pd.concat(mismatches).to_csv(index=False))
    figures = plot(recorded64, table[table.check == "layer"], prep.graph, prep.label, out)
    summary = {
        "model": args.model,
        "variant": args.variant,
        "weights": prep.label,
        "source": prep.graph.meta.get("source"),
        "images": args.images,
        "dataset": test.source,
        "timesteps": args.timesteps,
        "targets": targets,
        "mismatches": table.groupby(["check", "dtype", "target"])
        .mismatches.sum()
        .reset_index()
        .to_dict("records"),
        "seconds": time.perf_counter() - start,
        "command": " ".join(sys.argv),
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, default=str))
    show = table[
        [
            "check",
            "layer",
            "dtype",
            "target",
            "neurons",
            "spikes_ours",
            "spikes_brian2",
            "mismatches",
            "max_mismatch_distance",
        ]
    ]
    print(show.to_string(index=False))
    for row in summary["mismatches"]:
        print(
            f"{row['check']:8s} {row['dtype']:8s} {row['target']:7s} "
            f"mismatched spikes: {row['mismatches']}"
        )
    print(
        f"wrote {out}/table.csv, mismatches.csv, {figures[0].name} "
        f"({summary['seconds']:.0f} s, weights {prep.label})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
