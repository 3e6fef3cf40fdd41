"""The training loop of zoo models on the datasets of :mod:`rshw.data`.

A seeded validation split is held out of the training split (``val_size``; 5,000 images for
CIFAR and MNIST, 10 % for smaller sets). One epoch = one pass over the rest (shuffled, augmented),
then a validation evaluation. After every epoch the run folder gets ``last.*`` (resumable
checkpoint), ``best.*`` when the validation accuracy improved, and ``metrics.csv``. When the last
epoch is done, the test split is evaluated once, on ``best``, and its accuracy is written into
``best``'s metadata. Re-running the same command resumes from ``last``.

``precision`` chooses the arithmetic of the training step: bf16 autocast where the processor
supports it (CUDA GPUs with bf16, CPUs with AVX-512 BF16 or AMX) under ``auto``, else float32.
Evaluation (validation and test) always runs in float32: the accuracy reported is that of the
network as stored, which is what folding and the simulators use.

Under ``torchrun`` every process runs the same command on its share of each batch
(DistributedDataParallel, BatchNorm statistics pooled over the processes, see
:mod:`rshw.training.distributed`); ``batch_size`` is the global batch, so N processes train as
one does.
On CUDA the step runs with channels-last activations, the fused LIF
(:mod:`rshw.training.neurons`), batches copied from pinned memory without blocking, and no host
synchronisation inside an epoch.

This module is the loop; the run's configuration is in :mod:`rshw.training.config`, the device
and precision in :mod:`rshw.training.device`, evaluation in :mod:`rshw.training.evaluate`.
"""

from __future__ import annotations

import csv
import inspect
import io
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from rshw.data import ArrayDataset, load_dataset, make_loader
from rshw.data.dataset import default_validation_size
from rshw.errors import Interrupted, OptionError
from rshw.models import create_model
from rshw.training import checkpoint as ckpt
from rshw.training import distributed
from rshw.training.config import TrainConfig
from rshw.training.device import (
    autocast,
    prepare_model,
    resolve_device,
    resolve_precision,
    to_device,
)
from rshw.training.evaluate import evaluate
from rshw.training.realspike import realspike_parameters
from simulators.files import atomic_write_text


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Weight decay on conv and linear weights only: never on Real Spike ``a``, BN or biases."""
    no_decay_ids = {id(p) for p in realspike_parameters(model)}
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            no_decay_ids.update(id(p) for p in module.parameters(recurse=False))
    decay, no_decay = [], []
    for p in model.parameters():
        (no_decay if id(p) in no_decay_ids or p.dim() <= 1 else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    return torch.optim.AdamW(groups, lr=cfg.lr)


def cosine_lr(base_lr: float, step: int, total_steps: int) -> float:
    """Cosine decay from ``base_lr`` to 0 over ``total_steps`` optimizer steps."""
    return 0.5 * base_lr * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    precision: str = "fp32",
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on a batch already on the device, under ``precision`` (resolved:
    fp32 or bf16); returns the detached loss and logits (no host synchronisation)."""
    with autocast(x.device, precision):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


class _Progress:
    """Running loss and accuracy on the progress bar without stalling the GPU: every ``every``
    steps the totals are copied to the host asynchronously, and the bar shows the previous copy."""

    def __init__(self, bar: tqdm, every: int = 20) -> None:
        self.bar, self.every = bar, every
        self.pending: tuple[torch.Tensor, torch.cuda.Event | None, int] | None = None

    def update(self, step: int, loss_sum: torch.Tensor, correct: torch.Tensor, seen: int) -> None:
        if self.bar.disable or step % self.every:
            return
        if self.pending is not None:
            values, copied, count = self.pending
            if copied is not None:
                copied.synchronize()  # long done: it was queued `every` steps ago
            loss, right = values.tolist()
            self.bar.set_postfix(loss=f"{loss / count:.3f}", acc=f"{100 * right / count:.1f}")
        values = torch.stack([loss_sum, correct.float()]).to("cpu", non_blocking=True)
        copied = torch.cuda.Event() if loss_sum.is_cuda else None
        if copied is not None:
            copied.record()
        self.pending = (values, copied, seen)


def _write_metrics(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def _read_metrics(path: Path, upto_epoch: int) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [row for row in csv.DictReader(f) if int(row["epoch"]) <= upto_epoch]


def _check_resumable(cfg: TrainConfig, meta: dict[str, Any], stem: Path) -> None:
    saved = meta.get("train_config", {})
    diffs = [
        f"{k}: checkpoint {saved.get(k)!r}, now {getattr(cfg, k)!r}"
        for k in TrainConfig.RESUME_KEYS
        if saved.get(k) != getattr(cfg, k)
    ]
    if diffs:
        raise ckpt.CheckpointError(
            f"{stem} was trained with other settings ({'; '.join(diffs)}); "
            "pass --restart to start over in that folder, or choose another --out"
        )


def local_batch_size(batch_size: int, world_size: int) -> int:
    """Each process's share of the global ``batch_size``."""
    if batch_size % world_size:
        raise OptionError(
            f"--batch-size is the global batch and must be a multiple of the {world_size} "
            f"processes, got {batch_size}"
        )
    return batch_size // world_size


def train(cfg: TrainConfig, restart: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train (or resume) the run described by ``cfg``; returns the final metrics.

    Under torchrun every process calls this with the same ``cfg``; rank 0 alone prints and writes.
    """
    process, device = distributed.setup(resolve_device(cfg.device))
    try:
        result = _train(cfg, process, device, restart, quiet or not process.is_main)
        distributed.leave_together()  # only on success: after a failure the peers may not come
        return result
    except KeyboardInterrupt:
        raise _interrupted(Path(cfg.out) / "last") from None
    finally:
        distributed.teardown(process)


def _interrupted(last: Path) -> Interrupted:
    """Ctrl-C: what ``last`` holds now, and that the same command resumes from it."""
    if ckpt.exists(last):
        epoch = ckpt.read_metadata(last).get("epoch")
        return Interrupted(
            f"interrupted after epoch {epoch}; run the same command again to resume from {last}"
        )
    return Interrupted(
        "interrupted before the first epoch ended (nothing saved); run the same command again"
    )


def _train(
    cfg: TrainConfig,
    process: distributed.Process,
    device: torch.device,
    restart: bool,
    quiet: bool,
) -> dict[str, Any]:
    batch_size = local_batch_size(cfg.batch_size, process.world_size)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest convolutions once
    out = Path(cfg.out)
    torch.manual_seed(cfg.seed)

    precision = resolve_precision(cfg.precision, device)
    full_train = load_dataset(cfg.dataset, cfg.data, "train", timesteps=cfg.timesteps)
    # read now, though evaluated once at the end: a damaged test file fails before any epoch
    test_set = load_dataset(cfg.dataset, cfg.data, "test", timesteps=cfg.timesteps)
    val_size = cfg.val_size or default_validation_size(len(full_train))
    train_set, val_set = full_train.split_validation(val_size, cfg.seed)
    if cfg.train_limit is not None:
        train_set = train_set.random_subset(cfg.train_limit, cfg.seed)
    model = create_model(
        cfg.model,
        realspike=cfg.realspike,
        timesteps=cfg.timesteps,
        num_classes=train_set.num_classes,
        in_channels=train_set.in_channels,
        input_size=train_set.input_size,
        surrogate=cfg.surrogate,
        **cfg.model_options,
    )
    model = prepare_model(model, device, precision)
    optimizer = build_optimizer(model, cfg)
    out.mkdir(parents=True, exist_ok=True)  # only once the data and the model are known good
    share = {"rank": process.rank, "world_size": process.world_size}
    train_loader = make_loader(
        train_set,
        batch_size,
        shuffle=True,
        augment=cfg.augment,
        seed=cfg.seed,
        cutout=cfg.cutout,
        **share,
    )

    def evaluate_split(split: ArrayDataset) -> dict[str, float]:
        loader = make_loader(split, max(batch_size, 256), shuffle=False, augment=False, **share)
        samples = len(range(process.rank, len(split), process.world_size))
        return evaluate(model, loader, device, split.split, samples, quiet)

    last, best = out / "last", out / "best"
    start_epoch, best_val = 0, -1.0
    if ckpt.exists(last) and not restart:
        meta = ckpt.read_metadata(last)
        _check_resumable(cfg, meta, last)
        ckpt.load_checkpoint(last, model, map_location=str(device))
        ckpt.load_training_state(last, optimizer)
        if "best_val_acc" not in meta:
            raise ckpt.CheckpointError(
                f"{last} was written by an rshw without a validation split; pass --restart to "
                "start over in that folder, or choose another --out"
            )
        start_epoch, best_val = meta["epoch"], meta["best_val_acc"]
        if not quiet:
            print(
                f"resuming {last} after epoch {start_epoch} "
                f"(validation accuracy {meta['val_acc']:.2f}%)"
            )
    rows = _read_metrics(out / "metrics.csv", start_epoch)
    step_model = _step_model(model, device, process, cfg.compile)
    if not quiet and start_epoch < cfg.epochs:
        print(
            f"training on {len(train_set)} samples, choosing by {len(val_set)} held-out "
            f"validation samples; {precision} training step on {device}"
        )

    steps_per_epoch = len(train_loader)
    total_steps = cfg.epochs * steps_per_epoch
    result: dict[str, Any] = {"epoch": start_epoch, "best_val_acc": best_val}
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        train_loader.set_epoch(epoch)
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        bar = tqdm(
            train_loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=quiet, dynamic_ncols=True
        )
        progress = _Progress(bar)
        for i, (x, y) in enumerate(bar):
            lr = cosine_lr(cfg.lr, epoch * steps_per_epoch + i, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = to_device(x, y, device, precision)
            loss, logits = train_step(step_model, optimizer, x, y, precision)
            loss_sum += loss * y.numel()
            correct += (logits.argmax(1) == y).sum()
            seen += y.numel()
            progress.update(i, loss_sum, correct, seen)
        totals = torch.stack(
            [loss_sum.double(), correct.double(), loss_sum.new_tensor(seen).double()]
        )
        train_loss, train_correct, train_seen = distributed.sum_over_processes(totals).tolist()
        train_seconds = time.perf_counter() - t0
        val = evaluate_split(val_set)
        improved = val["acc"] > best_val
        best_val = max(best_val, val["acc"])
        result = {
            "epoch": epoch + 1,
            "train_loss": train_loss / train_seen,
            "train_acc": 100.0 * train_correct / train_seen,
            "val_loss": val["loss"],
            "val_acc": val["acc"],
            "best_val_acc": best_val,
            "lr": lr,
            "epoch_seconds": train_seconds,
        }
        rows.append(result)
        if not process.is_main:
            continue
        meta = {
            "dataset": {"name": cfg.dataset, "source": full_train.source},
            "epoch": epoch + 1,
            "val_acc": val["acc"],
            "best_val_acc": best_val,
            "validation": {"samples": len(val_set), "seed": cfg.seed, "held_out_of": "train"},
            "train_samples": len(train_set),
            "precision": precision,
            "seed": cfg.seed,
            "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
            "processes": process.world_size,
            "train_config": asdict(cfg),
        }
        # the row first: a crash before the checkpoint redoes the epoch, and resuming keeps
        # only the rows up to the checkpoint's epoch
        _write_metrics(out / "metrics.csv", rows)
        if improved:
            ckpt.save_checkpoint(best, model, meta)
        ckpt.save_checkpoint(last, model, meta, optimizer)
        if not quiet:
            print(
                f"epoch {epoch + 1}/{cfg.epochs}: train loss {result['train_loss']:.4f} "
                f"acc {result['train_acc']:.2f}% | val loss {val['loss']:.4f} "
                f"acc {val['acc']:.2f}% | {train_seconds:.0f} s"
            )
    return {**result, **_test_best(best, model, evaluate_split, test_set, process, quiet)}


def _test_best(
    best: Path,
    model: nn.Module,
    evaluate_split,
    test_set: ArrayDataset,
    process: distributed.Process,
    quiet: bool,
) -> dict[str, Any]:
    """Evaluate the test split once, on the checkpoint validation chose, and record the result in
    its metadata (a finished run re-run finds it there and evaluates nothing)."""
    distributed.barrier()  # rank 0 has written best
    meta = ckpt.read_metadata(best)
    if "test_acc" in meta:
        return {"test_acc": meta["test_acc"], "test_loss": meta["test_loss"]}
    ckpt.load_checkpoint(best, model, map_location=str(next(model.parameters()).device))
    test = evaluate_split(test_set)
    if process.is_main:
        meta.update(
            test_acc=test["acc"],
            test_loss=test["loss"],
            test_samples=len(test_set),
            test_source=test_set.source,
        )
        ckpt.save_checkpoint(best, model, {k: v for k, v in meta.items() if k not in ckpt.RESERVED})
    if not quiet:
        print(
            f"best: epoch {meta['epoch']}, validation {meta['val_acc']:.2f}%, "
            f"test {test['acc']:.2f}% (evaluated once, on this checkpoint)"
        )
    return {"test_acc": test["acc"], "test_loss": test["loss"]}


# torch 2.13 renamed DDP's broadcast_buffers (now deprecated) to forward_sync_buffers
_NO_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


def _step_model(
    model: nn.Module, device: torch.device, process: distributed.Process, compile_step: bool
) -> nn.Module:
    """What the training step calls: ``model``, under DistributedDataParallel with several
    processes (buffers are not re-broadcast: synced BatchNorm keeps them equal), compiled on
    request. Evaluation calls ``model`` itself."""
    if process.world_size > 1:
        device_ids = [device.index] if device.type == "cuda" else None
        model = DistributedDataParallel(model, device_ids=device_ids, **_NO_BUFFER_SYNC)
    return torch.compile(model) if compile_step else model
