"""Real Spike against vanilla: test accuracy over seeds, with the inference cost beside it.

    python -m analyses.accuracy                      # every runs/*/best
    python -m analyses.accuracy runs/scnn-mnist-*-s* --cost-images 100 --out results/accuracy

Each argument is a checkpoint (``STEM``) or a run folder (its ``best``). Per checkpoint: the
validation accuracy that chose it and the test accuracy evaluated once on it (from its
metadata; ``--evaluate`` evaluates the test split again), its seed and recipe, and the cost of
its folded binary-spike network on ``--cost-images`` test images: weights stored (shared and
unshared), spikes per image and exact synaptic operations (SOPs) per image.

Checkpoints trained with the same recipe (model, dataset, T, epochs, batch, optimizer, lr, ...)
but different seeds form a cell: mean ± sample standard deviation of test accuracy over seeds.
Each cell is compared with vanilla (``none``) by Welch's t-test on the per-seed test accuracies:
``t = Δmean / sqrt(s1²/n1 + s2²/n2)``, two-sided ``p_vs_none`` from Student's t with the
conservative ``min(n1, n2) - 1`` degrees of freedom (never more than Welch-Satterthwaite's, so
``p`` is never understated; exact for integer dof, :mod:`simulators.stats`). A granularity "beats
vanilla" only when both cells have at least 3 seeds and ``p < 0.05`` with a higher mean ("below
vanilla" mirrors it); otherwise the gap is "within seed spread" or, with fewer than 3 seeds,
"no claim (n < 3)". The test set is the same for every cell, so ``p`` covers the seed-to-seed
spread of training, not the sampling error of a finite test set.

Writes ``runs.csv`` (one row per checkpoint), ``accuracy.csv``/``.md``/``.tex`` (one row per
cell) and ``accuracy.pdf``/``.png`` (test accuracy per granularity, error bars = one std).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from rshw import options
from rshw.errors import OptionError, run_guarded
from rshw.reporting.tables import markdown
from rshw.training.config import TrainConfig
from simulators.files import atomic_write_text
from simulators.stats import t_central_probability

GRANULARITY_ORDER = ("none", "layer", "channel", "element")
RECIPE_KEYS = tuple(
    k for k in TrainConfig.RESUME_KEYS if k not in ("model", "dataset", "realspike", "seed")
)
"""What makes two runs the same recipe: everything a resumed run must share but the seed (and
the model, dataset and granularity, which are columns of their own)."""
MIN_SEEDS = 3
ALPHA = 0.05


def checkpoint_paths(arguments: list[str]) -> list[Path]:
    """Checkpoint stems from checkpoint or run-folder arguments (default: ``runs/*/best``).
    A ``best`` without a test accuracy belongs to a run still training: left out, with a line."""
    from rshw.training.checkpoint import exists, read_metadata

    found = []
    for argument in arguments or sorted(str(p.parent) for p in Path("runs").glob("*/best.json")):
        path = Path(argument)
        stem = path / "best" if path.is_dir() else path
        if not exists(stem):
            raise OptionError(f"no checkpoint at {stem} (give STEM or a run folder with best.*)")
        if "test_acc" not in read_metadata(stem):
            print(f"leaving out {stem}: no test accuracy yet (its training has not finished)")
            continue
        found.append(stem)
    if not found:
        raise OptionError(
            "no finished checkpoints: give checkpoints or run folders, or train into runs/"
        )
    return found


def train_seconds(stem: Path) -> float | None:
    """Training wall time: the epochs' seconds in the run's ``metrics.csv`` (or the shipped
    copy ``STEM.metrics.csv``)."""
    for metrics in (stem.parent / "metrics.csv", stem.with_name(stem.name + ".metrics.csv")):
        if metrics.is_file():
            with open(metrics, newline="") as f:
                return sum(float(r["epoch_seconds"]) for r in csv.DictReader(f))
    return None


def inference_cost(stem: Path, images: int, data: str | None) -> dict:
    """Fold the checkpoint and trace ``images`` test images through the cached stages: stored
    weights, spikes and exact SOPs per image of the binary-spike network."""
    from rshw.pipeline import stages
    from rshw.pipeline.plan import load_split, resolve_data, resolve_model
    from rshw.training.checkpoint import read_metadata
    from simulators.analytic.counts import count
    from simulators.ir import WEIGHTED_OPS

    meta = read_metadata(stem)
    model, dataset = meta["model"], meta["dataset"]["name"]
    record = resolve_model(
        model["name"], model["realspike"], dataset, data, str(stem), model["timesteps"]
    )
    graph = stages.fold(record).graph
    test = load_split(dataset, data, "test", record.timesteps)
    drawn = resolve_data(dataset, data, record.timesteps, min(images, len(test)), 0, loaded=test)
    activity = stages.trace(graph, stages.Images(drawn, test)).value
    counts = count(graph, activity)
    spikes = sum(activity.sample_counts(e).sum() for e in activity.edges) / activity.samples
    weighted = [n for n in graph if n.op in WEIGHTED_OPS]
    return {
        "weights_shared": sum(n.weight_count for n in weighted if n.op != "local"),
        "weights_unshared": sum(n.weight_count for n in weighted if n.op == "local"),
        "spikes_per_image": float(spikes),
        "sops_per_image": float(counts["sops"].sum()),  # count() is per inference already
        "cost_images": activity.samples,
        "folded_acc_on_cost_images": activity.meta.get("accuracy_on_traced_pct"),
    }


def checkpoint_row(stem: Path, args: argparse.Namespace) -> dict:
    from rshw.training.checkpoint import read_metadata

    meta = read_metadata(stem)
    config = meta.get("train_config", {})
    row = {
        "checkpoint": str(stem),
        "model": meta["model"]["name"],
        "dataset": meta.get("dataset", {}).get("name"),
        "variant": meta["model"]["realspike"],
        "seed": meta.get("seed"),
        "epoch_chosen": meta.get("epoch"),
        "val_acc": meta.get("val_acc"),
        "test_acc": meta.get("test_acc"),
        "train_seconds": train_seconds(stem),
        "device": meta.get("device"),
        "precision": meta.get("precision"),
        "recipe": ", ".join(f"{k}={config.get(k)}" for k in RECIPE_KEYS if k in config),
    }
    if args.evaluate:
        row["test_acc"] = evaluate_test(stem, args.data)
    if args.cost_images:
        row.update(inference_cost(stem, args.cost_images, args.data))
    return row


def evaluate_test(stem: Path, data: str | None) -> float:
    from rshw.data import load_dataset, make_loader
    from rshw.training.checkpoint import load_checkpoint
    from rshw.training.device import resolve_device
    from rshw.training.evaluate import evaluate

    device = resolve_device("auto")
    model, meta = load_checkpoint(stem, map_location=str(device))
    test = load_dataset(meta["dataset"]["name"], data, "test", timesteps=model.timesteps)
    return evaluate(model, make_loader(test, 256, False, False), device, quiet=True)["acc"]


def welch_p(cell: pd.Series, vanilla: pd.Series) -> float:
    """Two-sided p of Welch's t between two cells, with ``min(n) - 1`` degrees of freedom
    (module docstring); NaN with fewer than 2 seeds in either cell."""
    n1, n2 = int(cell["seeds"]), int(vanilla["seeds"])
    if min(n1, n2) < 2:
        return float("nan")
    diff = cell["test_mean"] - vanilla["test_mean"]
    se = math.sqrt(cell["test_std"] ** 2 / n1 + vanilla["test_std"] ** 2 / n2)
    if se == 0:
        return 1.0 if diff == 0 else 0.0
    return 1.0 - t_central_probability(abs(diff) / se, min(n1, n2) - 1)


def verdict(cell: pd.Series, vanilla: pd.Series | None, p: float) -> str:
    """The claim a cell may make against vanilla (module docstring)."""
    if cell["variant"] == "none":
        return "baseline"
    if vanilla is None or cell["seeds"] < MIN_SEEDS or vanilla["seeds"] < MIN_SEEDS:
        return f"no claim (n < {MIN_SEEDS})"
    if p < ALPHA:
        return "beats vanilla" if cell["test_mean"] > vanilla["test_mean"] else "below vanilla"
    return "within seed spread"


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, dataset, recipe, variant): accuracy over seeds and mean cost."""
    keys = ["model", "dataset", "recipe", "variant"]
    cost = [
        c
        for c in ("weights_shared", "weights_unshared", "spikes_per_image", "sops_per_image")
        if c in runs
    ]
    cells = (
        runs.groupby(keys, sort=False)
        .agg(
            seeds=("seed", "nunique"),
            test_mean=("test_acc", "mean"),
            test_std=("test_acc", "std"),
            val_mean=("val_acc", "mean"),
            **{c: (c, "mean") for c in cost},
        )
        .reset_index()
    )
    cells["variant"] = pd.Categorical(cells["variant"], GRANULARITY_ORDER, ordered=True)
    cells = cells.sort_values(["model", "dataset", "recipe", "variant"]).reset_index(drop=True)
    cells["variant"] = cells["variant"].astype(str)
    deltas, ps, verdicts = [], [], []
    for _, cell in cells.iterrows():
        same = cells[(cells[keys[:3]] == cell[keys[:3]]).all(axis=1) & (cells["variant"] == "none")]
        vanilla = same.iloc[0] if len(same) else None
        p = np.nan if vanilla is None or cell["variant"] == "none" else welch_p(cell, vanilla)
        deltas.append(np.nan if vanilla is None else cell["test_mean"] - vanilla["test_mean"])
        ps.append(p)
        verdicts.append(verdict(cell, vanilla, p))
    cells.insert(cells.columns.get_loc("val_mean") + 1, "delta_vs_none", deltas)
    cells.insert(cells.columns.get_loc("delta_vs_none") + 1, "p_vs_none", ps)
    cells["claim"] = verdicts
    return cells


def figure(cells: pd.DataFrame, path: Path) -> list[Path]:
    """Test accuracy (mean ± std over seeds) per variant, one panel per model, dataset and
    recipe: one column wide for one panel, else two columns with up to four panels a row."""
    from rshw.reporting import figures

    groups = list(cells.groupby(["model", "dataset", "recipe"], sort=False))
    cols = min(4, len(groups))
    rows = -(-len(groups) // cols)
    columns = 1 if len(groups) == 1 else 2
    fig, axes = figures.figure(
        columns, 0.7 / columns * rows + 0.05, nrows=rows, ncols=cols, squeeze=False
    )
    for ax in axes.flat[len(groups) :]:
        ax.axis("off")
    for ax, ((model, dataset, _), cell) in zip(axes.flat, groups, strict=False):
        x = np.arange(len(cell))
        for k, row in enumerate(cell.itertuples()):
            ax.errorbar(
                [x[k]],
                [row.test_mean],
                yerr=[0.0 if pd.isna(row.test_std) else row.test_std],
                fmt="o",
                color=figures.VARIANT_COLORS.get(row.variant),
                gid=row.variant,
            )
        ax.set_xticks(
            x, [f"{v}\n(n={n})" for v, n in zip(cell["variant"], cell["seeds"], strict=True)]
        )
        ax.set_xlim(-0.5, len(cell) - 0.5)
        ax.set_title(f"{model} on {dataset}")
        ax.set_ylabel("test accuracy (%)")
    figures.caption(fig, "Mean ± standard deviation over seeds (n: seeds).")
    return figures.save(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoints", nargs="*", help="checkpoints or run folders (default runs/*)")
    p.add_argument("--evaluate", action="store_true", help="evaluate the test split again")
    p.add_argument(
        "--cost-images",
        type=int,
        default=100,
        help="test images traced for spikes and SOPs per image (0: no cost columns)",
    )
    options.add(p, "data", out="results/accuracy")
    args = p.parse_args(argv)
    from tqdm import tqdm

    stems = checkpoint_paths(args.checkpoints)
    runs = pd.DataFrame([checkpoint_row(s, args) for s in tqdm(stems, desc="checkpoints")])
    cells = summarize(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
    atomic_write_text(out / "accuracy.csv", cells.to_csv(index=False))
    shown = cells.drop(columns="recipe")  # the recipe is in accuracy.csv and runs.csv
    atomic_write_text(out / "accuracy.md", markdown(shown))
    atomic_write_text(
        out / "accuracy.tex", shown.to_latex(index=False, float_format="%.4g", na_rep="--")
    )
    figure(cells, out / "accuracy")
    print(shown.to_string(index=False))
    print(f"wrote {out}/runs.csv, accuracy.csv/.md/.tex/.pdf/.png")
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
