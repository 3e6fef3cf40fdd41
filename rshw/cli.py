"""The ``rshw`` command line: train, eval, info, reparam, trace, simulate, ship, list."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import fields

from rshw.errors import TRACEBACK_ENV, OptionError, run_guarded
from rshw.training.realspike import GRANULARITIES


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _model_options(pairs: Sequence[str]) -> dict:
    options = {}
    for pair in pairs:
        if "=" not in pair:
            raise OptionError(f"--model-option expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        options[key] = _parse_value(value)
    return options


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


def _run_train(args) -> int:
    from rshw.models import model_defaults
    from rshw.training.config import TrainConfig
    from rshw.training.train import train

    model_defaults(args.model)  # an unknown model fails here, before any data is read

    cfg = TrainConfig(
        model=args.model,
        dataset=args.dataset,
        data=args.data,
        realspike=args.realspike,
        timesteps=args.timesteps,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        weight_decay=args.weight_decay,
        momentum=args.momentum,
        seed=args.seed,
        augment=not args.no_augment,
        cutout=args.cutout,
        train_limit=args.train_limit,
        surrogate=args.surrogate,
        model_options=_model_options(args.model_option),
        out=args.out or f"runs/{args.model}-{args.dataset}-{args.realspike}",
        device=args.device,
        compile=args.compile,
        precision=args.precision,
        val_size=args.val_size,
    )
    result = train(cfg, restart=args.restart, quiet=args.quiet)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line from rank 0
        print(
            json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()})
        )
    return 0


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


def _run_eval(args) -> int:
    from rshw.data import load_dataset, make_loader
    from rshw.training.checkpoint import load_checkpoint
    from rshw.training.device import resolve_device
    from rshw.training.evaluate import check_fits, evaluate

    device = resolve_device(args.device)
    model, meta = load_checkpoint(args.checkpoint, map_location=str(device))
    dataset = args.dataset or (meta.get("dataset") or {}).get("name")
    if dataset is None:
        raise OptionError(f"{args.checkpoint}: its metadata names no dataset; pass --dataset")
    ds = load_dataset(
        dataset, args.data, "train" if args.split == "val" else args.split, model.timesteps
    )
    check_fits(model, ds, str(args.checkpoint))
    if args.split == "val":
        if "validation" not in meta:
            raise OptionError(
                f"{args.checkpoint} was trained without a validation split; use --split test"
            )
        ds = ds.split_validation(meta["validation"]["samples"], meta["validation"]["seed"])[1]
    metrics = evaluate(model, make_loader(ds, args.batch_size, False, False), device)
    print(
        json.dumps(
            {
                "checkpoint": str(args.checkpoint),
                "dataset": dataset,
                "split": args.split,
                "samples": len(ds),
                "loss": round(metrics["loss"], 4),
                "acc": round(metrics["acc"], 2),
                "recorded": {k: meta.get(k) for k in ("val_acc", "test_acc", "epoch")},
            }
        )
    )
    return 0


def _add_info(sub) -> None:
    p = sub.add_parser(
        "info", help="parameter counts of a zoo model at every Real Spike granularity"
    )
    p.add_argument("model")
    p.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE")


def _run_info(args) -> int:
    from rshw.info import parameter_table

    print(parameter_table(args.model, **_model_options(args.model_option)).to_string(index=False))
    return 0


def _add_reparam(sub) -> None:
    p = sub.add_parser("reparam", help="fold BN and Real Spike a: checkpoint or model → IR graph")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("checkpoint", nargs="?", help="checkpoint path (STEM, STEM.json, ...)")
    src.add_argument("--model", help="a zoo model with random weights, BN-calibrated (untrained)")
    p.add_argument(
        "--realspike",
        default="channel",
        choices=GRANULARITIES,
        help="granularity for --model (default: channel)",
    )
    p.add_argument("--timesteps", "-T", type=int, default=4, help="T for --model")
    p.add_argument("--dataset", default="cifar10-sample", help="calibration data for --model")
    p.add_argument("--data", default=None, help="dataset folder or file (default: searched)")
    p.add_argument("--calibrate", type=int, default=256, help="images for BN calibration")
    p.add_argument("--seed", type=int, default=0, help="weight initialisation seed for --model")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--out", required=True, help="IR file to write (.npz)")


def _run_reparam(args) -> int:
    import numpy as np
    import torch

    from rshw.data import load_dataset
    from rshw.models import create_model
    from rshw.pipeline.reparam import reparameterize
    from rshw.training.calibrate import calibrate_batchnorm
    from rshw.training.checkpoint import load_checkpoint
    from simulators.summary import summarize

    if args.checkpoint:
        model, meta = load_checkpoint(args.checkpoint)
        source = {
            "checkpoint": str(args.checkpoint),
            "trained": True,
            "test_acc": meta.get("test_acc"),
            "dataset": meta.get("dataset"),
        }
    else:
        ds = load_dataset(args.dataset, args.data, "train", timesteps=args.timesteps)
        torch.manual_seed(args.seed)
        model = create_model(
            args.model,
            realspike=args.realspike,
            timesteps=args.timesteps,
            num_classes=ds.num_classes,
            in_channels=ds.in_channels,
            input_size=ds.input_size,
        )
        calibrate_batchnorm(model, ds, args.calibrate, seed=args.seed)
        source = {
            "checkpoint": None,
            "trained": False,
            "seed": args.seed,
            "calibration": {
                "dataset": args.dataset,
                "source": ds.source,
                "samples": args.calibrate,
            },
        }
        print(
            f"no checkpoint: {args.model} with random weights (seed {args.seed}), BatchNorm "
            f"calibrated on {args.calibrate} {args.dataset} images: UNTRAINED"
        )
    graph = reparameterize(model.eval(), np.dtype(args.dtype))
    graph.meta["source"] = source
    graph.save(args.out)
    table = summarize(graph)
    layers = table[table.weights > 0]
    print(
        layers[
            [
                "layer",
                "op",
                "input_shape",
                "output_shape",
                "kernels",
                "weights",
                "fan_in",
                "fan_out",
            ]
        ].to_string(index=False, float_format=lambda v: f"{v:.1f}")
    )
    by_kind = layers.groupby("kernels").weights.sum()
    print(
        f"weights: {int(by_kind.sum()):,} ("
        + ", ".join(f"{k} {int(v):,}" for k, v in by_kind.items())
        + f"); wrote {args.out}"
    )
    return 0


def _add_trace(sub) -> None:
    p = sub.add_parser("trace", help="record the spike activity of an IR graph on real data")
    p.add_argument("graph", help="IR file written by `rshw reparam`")
    p.add_argument("--dataset", default="cifar10-sample")
    p.add_argument("--data", default=None, help="dataset folder or file (default: searched)")
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--samples", type=int, default=64)
    p.add_argument("--chunk", type=int, default=16, help="samples per executor call")
    p.add_argument("--seed", type=int, default=0, help="which samples: a seeded random draw")
    p.add_argument("--out", required=True, help="activity folder to write")


def _run_trace(args) -> int:
    from rshw.data import load_dataset
    from rshw.pipeline.trace import trace
    from simulators.ir import Graph

    graph = Graph.load(args.graph)
    ds = load_dataset(args.dataset, args.data, args.split, timesteps=int(graph.meta["timesteps"]))
    activity, _ = trace(graph, ds, args.samples, args.out, chunk=args.chunk, seed=args.seed)
    for edge in activity.edges:
        rates = " ".join(f"{r:.3f}" for r in activity.rates(edge))
        print(f"{edge:28s} neurons {activity.neurons(edge):>8d}  rate per step {rates}")
    print(
        f"{activity.samples} samples, accuracy on them "
        f"{activity.meta['accuracy_on_traced_pct']:.1f}%; wrote {args.out}"
    )
    return 0


def _add_simulate(sub) -> None:
    from rshw.pipeline.hardware import DEFAULT_PRESETS, HARDWARE

    p = sub.add_parser("simulate", help="reparam, trace, verify and run the hardware models")
    p.add_argument("--model", default="resnet19", help="zoo model or a .nir file")
    p.add_argument("--variant", default="channel", choices=GRANULARITIES)
    p.add_argument("--ckpt", default=None, help="checkpoint (default: shipped, else untrained)")
    p.add_argument(
        "--dt",
        type=float,
        default=None,
        help="seconds per time step of a .nir model (default: the dt the file records, else "
        "1e-4, snnTorch's and SpikingJelly's export step; Norse files need 1e-3)",
    )
    p.add_argument("--dataset", default="cifar10-sample")
    p.add_argument("--data", default=None, help="dataset folder or file (default: searched)")
    p.add_argument(
        "--images",
        type=_images,
        default=8,
        help="test images to trace and simulate, or 'auto': double them until every model's "
        "energy CI half-width is within --ci-target of its mean, or --images-cap",
    )
    p.add_argument("--ci-target", type=float, default=0.01, help="for --images auto (0.01 = 1%%)")
    p.add_argument("--images-cap", type=int, default=256, help="for --images auto")
    p.add_argument(
        "--static-input",
        default="once",
        choices=("once", "every-step"),
        help="a layer whose input is the same at every step (the stem) is computed once, or at "
        "every step; recorded in the graph, applied by every hardware model",
    )
    p.add_argument("--hw", default=",".join(HARDWARE), help="comma list of " + ", ".join(HARDWARE))
    for hw in HARDWARE:
        p.add_argument(f"--{hw}-preset", default=DEFAULT_PRESETS[hw])
    p.add_argument("--timesteps", "-T", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="run folder (default results/simulate/M-V)")
    p.add_argument("--force", action="store_true", help="recompute cached traces and reports")
    p.add_argument(
        "--hw-option",
        action="append",
        default=[],
        metavar="HW.KEY=VALUE",
        help="a preset override or run option, e.g. gpu.batch=64, cim.duplication=4; "
        "a comma list runs once per value (default gpu.batch=1,64) (repeatable)",
    )


def _images(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expects a number of images or 'auto', got {text!r}"
        ) from None


def _hw_options(pairs) -> dict:
    """``["gpu.batch=64", "cim.mode=dense,event"]`` → ``{"gpu": {"batch": 64}, "cim": {"mode":
    ["dense", "event"]}}`` (a comma list: one run per value)."""
    options: dict = {}
    for pair in pairs:
        target, _, value = pair.partition("=")
        hw, _, key = target.partition(".")
        if not (hw and key and value):
            raise OptionError(f"--hw-option expects HW.KEY=VALUE, got {pair!r}")
        values = [_parse_value(v) for v in value.split(",")]
        options.setdefault(hw, {})[key] = values if len(values) > 1 else values[0]
    return options


def _run_simulate(args) -> int:
    import pandas as pd

    from rshw.pipeline.hardware import HARDWARE
    from rshw.pipeline.simulate import SimulateOptions, simulate_run
    from rshw.pipeline.summary_table import summary_text

    opts = SimulateOptions(
        model=args.model,
        variant=args.variant,
        ckpt=args.ckpt,
        dt=args.dt,
        dataset=args.dataset,
        data=args.data,
        images=args.images,
        hardware=tuple(h.strip() for h in args.hw.split(",") if h.strip()),
        presets={hw: getattr(args, f"{hw}_preset") for hw in HARDWARE},
        timesteps=args.timesteps,
        seed=args.seed,
        out=args.out,
        force=args.force,
        hw_options=_hw_options(args.hw_option),
        static_input=args.static_input,
        ci_target=args.ci_target,
        images_cap=args.images_cap,
    )
    manifest = simulate_run(opts)
    print(summary_text(pd.read_csv(opts.run_folder / "summary.csv")))
    check = manifest["verification"]
    if check["verified"]:
        print(
            f"verified: the folded network reproduces all {check['spikes_compared']:,} spikes "
            f"of the {manifest['weights']} model on {manifest['data']['images']} images"
        )
    print(
        f"wrote {opts.run_folder}/ (summary.csv, report-*.csv, figures, manifest.json) in "
        f"{manifest['timings_s']['total_s']:.0f} s"
    )
    return 0


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


def _run_ship(args) -> int:
    from rshw.data import load_dataset, make_loader
    from rshw.pipeline.prepare import SHIPPED, shipped_name
    from rshw.training.checkpoint import (
        RESERVED,
        load_checkpoint,
        read_metadata,
        save_checkpoint,
        ship_checkpoint,
    )
    from rshw.training.device import resolve_device
    from rshw.training.evaluate import evaluate

    meta = read_metadata(args.checkpoint)
    name = shipped_name(meta["model"]["name"], meta["dataset"]["name"], meta["model"]["realspike"])
    out = args.out or SHIPPED / name
    stem = ship_checkpoint(args.checkpoint, out, half=not args.fp32)
    # fp16 weights are another network: evaluate the test split on what ships
    model, shipped = load_checkpoint(stem)
    test = load_dataset(meta["dataset"]["name"], args.data, "test", timesteps=model.timesteps)
    device = resolve_device("auto")
    acc = evaluate(model.to(device), make_loader(test, 256, False, False), device, quiet=True)
    shipped["test_acc_shipped"] = acc["acc"]
    kept = {k: v for k, v in shipped.items() if k not in RESERVED}
    save_checkpoint(stem, model, kept, half=not args.fp32)
    size = stem.with_suffix(".safetensors").stat().st_size / 2**20
    print(
        f"wrote {stem}.safetensors ({size:.2f} MiB, {shipped['weights_dtype']}), {stem.name}.json:"
        f" epoch {meta.get('epoch')}, validation {meta.get('val_acc')}%, test "
        f"{meta.get('test_acc')}% as trained, {acc['acc']:.2f}% with the shipped weights"
    )
    return 0


def _run_list(_args) -> int:
    from rshw.data import list_datasets
    from rshw.models import list_models
    from rshw.training.neurons import SURROGATES

    print("models:        " + ", ".join(list_models()))
    print("datasets:      " + ", ".join(list_datasets()))
    print("realspike:     " + ", ".join(GRANULARITIES))
    print("surrogates:    " + ", ".join(SURROGATES))
    return 0


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


COMMANDS = {
    "train": _run_train,
    "eval": _run_eval,
    "info": _run_info,
    "reparam": _run_reparam,
    "trace": _run_trace,
    "simulate": _run_simulate,
    "ship": _run_ship,
    "list": _run_list,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command behind the error boundary of :mod:`rshw.errors` (exit 2 for a mistake in
    the input, 130 for Ctrl-C, a traceback for a bug)."""
    args = build_parser().parse_args(argv)
    if args.traceback:
        os.environ[TRACEBACK_ENV] = "1"
    return run_guarded(lambda: COMMANDS[args.command](args), prog=f"rshw {args.command}")


if __name__ == "__main__":
    sys.exit(main())
