"""Test accuracy of trained checkpoints, per Real Spike variant, from metadata or by evaluation.

    python analyses/accuracy.py CKPT [CKPT ...] [--evaluate] [--dataset NAME] [--data PATH]
        [--out results/accuracy]

Without ``--evaluate`` the accuracy recorded in each checkpoint's metadata (test split, at the
end of its epoch) is reported; with it, every checkpoint is evaluated again on the full test
split. Writes ``accuracy.csv`` and ``accuracy.md`` with epochs, wall time and device from the
metadata.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from rshw.errors import run_guarded
from rshw.reporting.tables import markdown
from simulators.files import atomic_write_text


def row(path: str, evaluate_again: bool, dataset: str | None, data: str | None) -> dict:
    from rshw.training.checkpoint import load_checkpoint, read_metadata

    meta = read_metadata(path)
    out = {
        "checkpoint": path,
        "model": meta["model"]["name"],
        "variant": meta["model"]["realspike"],
        "timesteps": meta["model"]["timesteps"],
        "dataset": meta.get("dataset", {}).get("name"),
        "epoch": meta.get("epoch"),
        "test_acc_metadata": meta.get("test_acc"),
        "device": meta.get("device"),
        "created": meta.get("created"),
    }
    if evaluate_again:
        from rshw.data import load_dataset, make_loader
        from rshw.training.train import evaluate, resolve_device

        device = resolve_device("auto")
        model, _ = load_checkpoint(path, map_location=str(device))
        ds = load_dataset(dataset or out["dataset"], data, "test", timesteps=model.timesteps)
        out["test_acc_evaluated"] = evaluate(model, make_loader(ds, 256, False, False), device)[
            "acc"
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--evaluate", action="store_true")
    p.add_argument("--dataset", default=None)
    p.add_argument("--data", default=None)
    p.add_argument("--out", default="results/accuracy")
    args = p.parse_args(argv)
    table = pd.DataFrame([row(c, args.evaluate, args.dataset, args.data) for c in args.checkpoints])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "accuracy.csv", table.to_csv(index=False))
    atomic_write_text(out / "accuracy.md", markdown(table))
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
