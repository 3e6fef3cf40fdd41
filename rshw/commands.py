"""The bodies of the ``rshw`` commands (:mod:`rshw.cli` holds only their parsers).

``simulate``, ``reparam`` and ``trace`` resolve their request into the plan's records
(:mod:`rshw.pipeline.plan`) and run the cached stages (:mod:`rshw.pipeline.stages`), so the same
request gives the same products whichever command asks: ``rshw reparam --model M`` folds the
network ``rshw simulate --model M`` folds.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from rshw import options
from rshw.errors import OptionError


def run_train(args) -> int:
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
        model_options=options.key_values(args.model_option),
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


def run_eval(args) -> int:
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


def run_info(args) -> int:
    from rshw.info import parameter_table

    print(
        parameter_table(args.model, **options.key_values(args.model_option)).to_string(index=False)
    )
    return 0


def run_ship(args) -> int:
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


def run_list(_args) -> int:
    from rshw.data import list_datasets
    from rshw.models import list_models
    from rshw.training.neurons import SURROGATES
    from rshw.training.realspike import GRANULARITIES

    print("models:        " + ", ".join(list_models()))
    print("datasets:      " + ", ".join(list_datasets()))
    print("realspike:     " + ", ".join(GRANULARITIES))
    print("surrogates:    " + ", ".join(SURROGATES))
    return 0


def run_reparam(args) -> int:
    """Fold a checkpoint or a zoo model (its shipped checkpoint, else the stand-in simulate
    folds) through the fold stage, write the IR file and print its layers."""
    import numpy as np

    from rshw.pipeline import stages
    from rshw.pipeline.plan import resolve_model
    from rshw.training.checkpoint import read_metadata
    from simulators.summary import summarize

    if args.checkpoint:
        meta = read_metadata(args.checkpoint)
        record = resolve_model(
            meta["model"]["name"],
            meta["model"]["realspike"],
            (meta.get("dataset") or {}).get("name", args.dataset),
            args.data,
            args.checkpoint,
            meta["model"]["timesteps"],
        )
    else:
        record = resolve_model(
            args.model,
            args.realspike,
            args.dataset,
            args.data,
            None,
            args.timesteps,
            args.seed,
            args.dt,
            static_input=args.static_input,
            calibration_images=args.calibrate,
            sew=args.sew,
        )
    folded = stages.fold(record, args.force, dtype=np.dtype(args.dtype))
    shutil.copyfile(stages.runcache.entry(folded.key) / "graph.npz", args.out)
    table = summarize(folded.graph)
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
        + f"); graph {folded.graph.fingerprint()} ({folded.label}); wrote {args.out}"
    )
    return 0


def run_trace(args) -> int:
    """Trace an IR file through the trace stage and copy the activity to ``--out``."""
    import numpy as np

    from rshw.pipeline import stages
    from rshw.pipeline.plan import load_split, resolve_data
    from simulators.ir import Graph

    if args.chunk < 1:
        raise OptionError(f"chunk (samples per executor call) must be >= 1, got {args.chunk}")
    graph = Graph.load(args.graph)
    timesteps = int(graph.meta["timesteps"])
    split = load_split(args.dataset, args.data, args.split, timesteps)
    record = resolve_data(
        args.dataset, args.data, timesteps, args.samples, args.seed, args.split, split
    )
    traced = stages.trace(
        graph, stages.Images(record, split), args.force, np.dtype(args.dtype), args.chunk
    )
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    shutil.copytree(stages.runcache.entry(traced.key), out)
    activity = traced.value
    for edge in activity.edges:
        rates = " ".join(f"{r:.3f}" for r in activity.rates(edge))
        print(f"{edge:28s} neurons {activity.neurons(edge):>8d}  rate per step {rates}")
    print(
        f"{activity.samples} samples, accuracy on them "
        f"{activity.meta['accuracy_on_traced_pct']:.1f}%; wrote {args.out}"
    )
    return 0


def run_simulate(args) -> int:
    """Resolve the plan, run its stages, write the run folder and print the summary."""
    import pandas as pd

    from rshw.pipeline.hardware import HARDWARE
    from rshw.pipeline.plan import resolve
    from rshw.pipeline.simulate import simulate_run
    from rshw.reporting.summary_table import summary_text

    request = options.simulate_request(
        args,
        args.variant,
        ckpt=args.ckpt,
        dt=args.dt,
        sew=args.sew,
        hardware=options.hardware_list(args.hw),
        presets={hw: getattr(args, f"{hw}_preset") for hw in HARDWARE},
        out=args.out,
        hw_options=options.hw_options(args.hw_option),
        ci_target=args.ci_target,
        images_cap=args.images_cap,
    )
    plan = resolve(request)
    manifest = simulate_run(plan)
    print(summary_text(pd.read_csv(plan.out / "summary.csv"), manifest["notes"]))
    check = manifest["verification"]
    if check["verified"]:
        print(
            f"verified: the folded network reproduces all {check['spikes_compared']:,} spikes "
            f"of the {manifest['weights']} model on {manifest['data']['images']} images"
        )
    print(
        f"wrote {plan.out}/ (summary.csv, report-*.csv, figures, manifest.json) in "
        f"{manifest['timings_s']['total_s']:.0f} s"
    )
    return 0


COMMANDS = {
    "train": run_train,
    "eval": run_eval,
    "info": run_info,
    "reparam": run_reparam,
    "trace": run_trace,
    "simulate": run_simulate,
    "ship": run_ship,
    "list": run_list,
}
