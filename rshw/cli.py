"""The ``rshw`` command line: train, eval, info, reparam, trace, simulate, ship, list. Parsers
only; the commands' bodies are :mod:`rshw.commands`, the shared options :mod:`rshw.options`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import fields

from rshw import options
from rshw.commands import COMMANDS
from rshw.errors import TRACEBACK_ENV, run_guarded
from rshw.pipeline.plan import STAND_IN_CALIBRATION
from rshw.training.realspike import GRANULARITIES


def _add_train(sub) -> None:
    from rshw.training.config import OPTIMIZERS, PRECISIONS, TrainConfig

    d = {f.name: f.default for f in fields(TrainConfig) if f.name != "model_options"}
    p = sub.add_parser("train", help="train a zoo model (resumes from OUT/last when present)")
    p.add_argument("--model", default=d["model"], help="zoo model (see `rshw list`)")
    p.add_argument("--dataset", default=d["dataset"], help="dataset (see `rshw list`)")
    p.add_argument("--data", default=None, help="dataset folder or file (default: searched)")
    p.add_argument("--realspike", default=d["realspike"], choices=GRANULARITIES)
    p.add_argument("--timesteps", "-T", type=int, default=d["timesteps"])
    p.add_argument("--epochs", type=int, default=d["epochs"])
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--optimizer", default=d["optimizer"], choices=OPTIMIZERS)
    p.add_argument("--lr", type=float, default=None, help="default: 0.1 (sgd), 1e-3 (adamw)")
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"])
    p.add_argument("--momentum", type=float, default=d["momentum"])
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--no-augment", action="store_true", help="switch off data augmentation")
    p.add_argument("--cutout", type=int, default=d["cutout"], help="cutout side in pixels (0: off)")
    p.add_argument("--train-limit", type=int, default=None, help="train on N random samples")
    p.add_argument("--surrogate", default=d["surrogate"], help="rectangular|tanh|sigmoid|atan")
    p.add_argument(
        "--model-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra model keyword, e.g. tau=0.5 (repeatable)",
    )
    p.add_argument("--out", default=None, help="run folder (default: runs/MODEL-DATASET-REALSPIKE)")
    p.add_argument("--device", default=d["device"], help="auto|cpu|cuda|cuda:N")
    p.add_argument("--restart", action="store_true", help="ignore OUT/last and start over")
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the whole training step (GPUs; slow first steps)",
    )
    p.add_argument(
        "--precision",
        default=d["precision"],
        choices=PRECISIONS,
        help="training-step arithmetic: auto = bf16 where the CPU/GPU has it natively, else fp32 "
        "(evaluation is always fp32)",
    )
    p.add_argument(
        "--val-size",
        type=int,
        default=None,
        help="samples held out of the training split to choose `best` "
        "(default: 5000 for CIFAR/MNIST, else 10%%)",
    )
    p.add_argument("--quiet", action="store_true")


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint on a dataset split")
    p.add_argument("checkpoint", help="checkpoint path (STEM, STEM.json or STEM.safetensors)")
    p.add_argument("--dataset", default=None, help="default: the checkpoint's dataset")
    p.add_argument("--data", default=None, help="dataset folder or file (default: searched)")
    p.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test"),
        help="val: the validation split the checkpoint was chosen by (carved as in training)",
    )
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="auto")


def _add_info(sub) -> None:
    p = sub.add_parser(
        "info", help="parameter counts of a zoo model at every Real Spike granularity"
    )
    p.add_argument("model")
    p.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE")


def _add_reparam(sub) -> None:
    p = sub.add_parser("reparam", help="fold BN and Real Spike a: checkpoint or model → IR graph")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("checkpoint", nargs="?", help="checkpoint path (STEM, STEM.json, ...)")
    src.add_argument(
        "--model",
        help="a zoo model (its shipped checkpoint for --dataset at -T, else the untrained, "
        "BN-calibrated stand-in `rshw simulate` folds), or a network trained elsewhere as "
        "`rshw simulate --model` takes it (.nir, a description .json, FILE.py:FUNCTION)",
    )
    p.add_argument(
        "--realspike",
        default="channel",
        choices=GRANULARITIES,
        help="granularity for a zoo --model (default: channel)",
    )
    options.add(p, "timesteps", "dataset", "data", "seed", "static_input", "dt", "sew")
    p.add_argument(
        "--calibrate",
        type=int,
        default=STAND_IN_CALIBRATION,
        help="images for a stand-in's BN calibration (default: as `rshw simulate`)",
    )
    p.add_argument(
        "--dtype",
        default="float64",
        choices=("float32", "float64"),
        help="float64: the graph `rshw simulate` folds and traces",
    )
    p.add_argument("--out", required=True, help="IR file to write (.npz)")
    options.add(p, "force")


def _add_trace(sub) -> None:
    p = sub.add_parser("trace", help="record the spike activity of an IR graph on real data")
    p.add_argument("graph", help="IR file written by `rshw reparam`")
    options.add(p, "dataset", "data")
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--samples", type=int, default=64)
    p.add_argument("--chunk", type=int, default=16, help="samples per executor call")
    p.add_argument("--seed", type=int, default=0, help="which samples: a seeded random draw")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--out", required=True, help="activity folder to write")
    options.add(p, "force")


def _add_simulate(sub) -> None:
    from rshw.pipeline.hardware import HARDWARE, default_presets

    p = sub.add_parser("simulate", help="reparam, trace, verify and run the hardware models")
    options.add(p, "model", "variant", "ckpt", "dt", "sew", "dataset", "data", "images")
    options.add(p, "ci_target", "images_cap", "static_input", "basis")
    p.add_argument("--hw", default=",".join(HARDWARE), help="comma list of " + ", ".join(HARDWARE))
    for hw, preset in default_presets().items():
        p.add_argument(f"--{hw}-preset", default=preset)
    options.add(p, "timesteps", "seed")
    p.add_argument("--out", default=None, help="run folder (default results/simulate/M-V)")
    options.add(p, "force", "hw_option")


def _add_ship(sub) -> None:
    p = sub.add_parser(
        "ship",
        help="copy a trained checkpoint as fp16 into the package "
        "(rshw/checkpoints/MODEL-DATASET-VARIANT), where `rshw simulate` finds it",
    )
    p.add_argument("checkpoint", help="checkpoint path (STEM, STEM.json or STEM.safetensors)")
    p.add_argument("--out", default=None, help="default: rshw/checkpoints/MODEL-DATASET-VARIANT")
    p.add_argument("--data", default=None, help="dataset folder or file (default: searched)")
    p.add_argument(
        "--fp32",
        action="store_true",
        help="ship the weights as trained (float32), not as fp16: for small models, so the "
        "shipped network is exactly the one evaluated",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rshw", description="Real Spike SNNs from training to hardware numbers"
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help=f"show the full traceback of an error (for bug reports; or set {TRACEBACK_ENV}=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_eval(sub)
    _add_info(sub)
    _add_reparam(sub)
    _add_trace(sub)
    _add_simulate(sub)
    _add_ship(sub)
    sub.add_parser("list", help="list models, datasets, granularities and surrogates")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command behind the error boundary of :mod:`rshw.errors` (exit 2 for a mistake in
    the input, 130 for Ctrl-C, a traceback for a bug)."""
    args = build_parser().parse_args(argv)
    if args.traceback:
        os.environ[TRACEBACK_ENV] = "1"
    return run_guarded(lambda: COMMANDS[args.command](args), prog=f"rshw {args.command}")


if __name__ == "__main__":
    sys.exit(main())
