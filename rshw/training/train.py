"""Training and evaluation of zoo models on the datasets of :mod:`rshw.data`.

One epoch = one pass over the (shuffled, augmented) training split, then a test-split evaluation.
After every epoch the run folder gets ``last.*`` (resumable checkpoint), ``best.*`` when the test
accuracy improved, and ``metrics.csv``. Re-running the same command resumes from ``last``.

Under ``torchrun`` every process runs the same command on its share of each batch
(DistributedDataParallel, BatchNorm statistics pooled over the processes, see
:mod:`rshw.training.distributed`); ``batch_size`` is the global batch, so N processes train as
one does.
On CUDA the step runs under bf16 autocast with channels-last activations, the fused LIF
(:mod:`rshw.training.neurons`), batches copied from pinned memory without blocking, and no host
synchronisation inside an epoch.
"""

from __future__ import annotations

import contextlib
import csv
import inspect
import io
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from rshw.data import load_dataset, make_loader
from rshw.errors import Interrupted, OptionError
from rshw.models import create_model
from rshw.training import checkpoint as ckpt
from rshw.training import distributed
from rshw.training.realspike import realspike_parameters
from simulators.files import atomic_write_text

OPTIMIZERS = ("sgd", "adamw")
DEFAULT_LR = {"sgd": 0.1, "adamw": 1e-3}


@dataclass
class TrainConfig:
    """Everything that defines a training run; stored in every checkpoint's metadata."""

    model: str = "scnn"
    dataset: str = "mnist"
    data: str | None = None
    realspike: str = "channel"
    timesteps: int = 4
    epochs: int = 1
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float | None = None
    weight_decay: float = 5e-4
    momentum: float = 0.9
    seed: int = 0
    augment: bool = True
    cutout: int = 0
    train_limit: int | None = None
    surrogate: str = "tanh"
    model_options: dict[str, Any] = field(default_factory=dict)
    out: str = "runs/default"
    device: str = "auto"
    compile: bool = False
    """Compile the whole training step with torch.compile (worth it on GPUs; the first steps
    take about a minute longer)."""

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise OptionError(
                f"unknown optimizer {self.optimizer!r}; choose one of {list(OPTIMIZERS)}"
            )
        for name in ("timesteps", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise OptionError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.optimizer]

    # the settings a resumed run must share with its checkpoint
    RESUME_KEYS = (
        "model",
        "dataset",
        "realspike",
        "timesteps",
        "epochs",
        "batch_size",
        "optimizer",
        "lr",
        "weight_decay",
        "momentum",
        "seed",
        "augment",
        "cutout",
        "train_limit",
        "surrogate",
        "model_options",
    )


def resolve_device(device: str) -> torch.device:
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``, checked against
    this machine now rather than failing deep inside the first step."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise OptionError(
            f"--device {device!r} is not a device; use auto, cpu, cuda or cuda:N"
        ) from None
    if resolved.type not in ("cpu", "cuda"):
        raise OptionError(
            f"--device {device!r}: rshw runs on cpu or cuda; use auto, cpu, cuda or cuda:N"
        )
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise OptionError(
                f"--device {device!r}: this machine has no CUDA device; use --device cpu"
            )
        if resolved.index is not None and resolved.index >= count:
            raise OptionError(
                f"--device {device!r}: this machine has {count} CUDA device(s): "
                f"cuda:0..cuda:{count - 1}"
            )
    return resolved


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


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare_model(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` on ``device``; channels-last on CUDA, where cuDNN's bf16 convolutions want it."""
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model


def to_device(
    x: torch.Tensor, y: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch on ``device``. On CUDA it is copied from pinned memory: a copy from pageable memory
    would wait for the GPU to finish its queue. Images become channels-last there."""
    if device.type != "cuda":
        return x.to(device), y.to(device)
    x = x.pin_memory().to(device, non_blocking=True)
    y = y.pin_memory().to(device, non_blocking=True)
    if x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y


def train_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on a batch already on the device; returns the detached loss and logits
    (no host synchronisation)."""
    with _autocast(x.device):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


def check_fits(model: nn.Module, dataset, what: str) -> None:
    """Refuse a dataset whose images or classes differ from what ``model`` (from ``what``, e.g.
    a checkpoint path) was built for, before any batch reaches it."""
    config = getattr(model, "config", {})
    want = {k: config.get(k) for k in ("in_channels", "input_size", "num_classes")}
    have = {
        "in_channels": dataset.in_channels,
        "input_size": tuple(dataset.input_size),
        "num_classes": dataset.num_classes,
    }
    if isinstance(want["input_size"], int):
        want["input_size"] = (want["input_size"],) * 2
    elif want["input_size"] is not None:
        want["input_size"] = tuple(want["input_size"])
    diffs = [f"{k} {have[k]} (model {want[k]})" for k in have if want[k] not in (None, have[k])]
    if diffs:
        raise OptionError(
            f"{dataset.name!r} does not fit {what}: {', '.join(diffs)}; pass the dataset it was "
            "trained on"
        )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader,
    device: torch.device,
    desc: str = "eval",
    samples: int | None = None,
    quiet: bool = False,
) -> dict[str, float]:
    """Mean cross-entropy and accuracy (%) of ``model`` over ``loader``, or over its first
    ``samples`` samples (a distributed share without its wrap-around padding). With an active
    process group the sums span every process's share."""
    model.eval()
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.long)
    count = 0
    for x, y in tqdm(loader, desc=desc, leave=False, dynamic_ncols=True, disable=quiet):
        keep = len(y) if samples is None else min(len(y), samples - count)
        if keep <= 0:
            break
        x, y = to_device(x, y, device)
        with _autocast(device):
            logits = model(x)[:keep]
        loss_sum += F.cross_entropy(logits.float(), y[:keep], reduction="sum")
        correct += (logits.argmax(1) == y[:keep]).sum()
        count += keep
    totals = distributed.sum_over_processes(
        torch.stack([loss_sum, correct.double(), torch.tensor(float(count), device=device)])
    )
    loss_total, correct_total, count_total = totals.tolist()
    return {"loss": loss_total / count_total, "acc": 100.0 * correct_total / count_total}


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
        return _train(cfg, process, device, restart, quiet or not process.is_main)
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

    train_set = load_dataset(cfg.dataset, cfg.data, "train", timesteps=cfg.timesteps)
    test_set = load_dataset(cfg.dataset, cfg.data, "test", timesteps=cfg.timesteps)
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
    model = prepare_model(model, device)
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
    test_loader = make_loader(test_set, max(batch_size, 256), shuffle=False, augment=False, **share)
    test_samples = len(range(process.rank, len(test_set), process.world_size))

    last = out / "last"
    start_epoch, best_acc, last_row = 0, -1.0, None
    if ckpt.exists(last) and not restart:
        meta = ckpt.read_metadata(last)
        _check_resumable(cfg, meta, last)
        ckpt.load_checkpoint(last, model, map_location=str(device))
        ckpt.load_training_state(last, optimizer)
        start_epoch, best_acc = meta["epoch"], meta.get("best_test_acc", -1.0)
        last_row = meta.get("metrics")
        if not quiet:
            print(
                f"resuming {last} after epoch {start_epoch} (test accuracy {meta['test_acc']:.2f}%)"
            )
    rows = _read_metrics(out / "metrics.csv", start_epoch)
    if last_row and (not rows or int(rows[-1]["epoch"]) < start_epoch):
        rows.append(last_row)  # a crash came between saving last and writing its metrics row
        if process.is_main:
            _write_metrics(out / "metrics.csv", rows)
    step_model = _step_model(model, device, process, cfg.compile)

    steps_per_epoch = len(train_loader)
    total_steps = cfg.epochs * steps_per_epoch
    result: dict[str, Any] = {"epoch": start_epoch, "best_test_acc": best_acc}
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
            x, y = to_device(x, y, device)
            loss, logits = train_step(step_model, optimizer, x, y)
            loss_sum += loss * y.numel()
            correct += (logits.argmax(1) == y).sum()
            seen += y.numel()
            progress.update(i, loss_sum, correct, seen)
        totals = torch.stack(
            [loss_sum.double(), correct.double(), loss_sum.new_tensor(seen).double()]
        )
        train_loss, train_correct, train_seen = distributed.sum_over_processes(totals).tolist()
        train_seconds = time.perf_counter() - t0
        test = evaluate(model, test_loader, device, "test", test_samples, quiet)
        best_acc = max(best_acc, test["acc"])
        result = {
            "epoch": epoch + 1,
            "train_loss": train_loss / train_seen,
            "train_acc": 100.0 * train_correct / train_seen,
            "test_loss": test["loss"],
            "test_acc": test["acc"],
            "best_test_acc": best_acc,
            "lr": lr,
            "epoch_seconds": train_seconds,
        }
        rows.append(result)
        if not process.is_main:
            continue
        meta = {
            "dataset": {"name": cfg.dataset, "source": train_set.source},
            "epoch": epoch + 1,
            "test_acc": test["acc"],
            "best_test_acc": best_acc,
            "seed": cfg.seed,
            "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
            "processes": process.world_size,
            "train_config": asdict(cfg),
            "metrics": result,
        }
        ckpt.save_checkpoint(last, model, meta, optimizer)
        if test["acc"] >= best_acc:
            ckpt.save_checkpoint(out / "best", model, meta)
        _write_metrics(out / "metrics.csv", rows)
        if not quiet:
            print(
                f"epoch {epoch + 1}/{cfg.epochs}: train loss {result['train_loss']:.4f} "
                f"acc {result['train_acc']:.2f}% | test loss {test['loss']:.4f} "
                f"acc {test['acc']:.2f}% | {train_seconds:.0f} s"
            )
    return result


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


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(values) - known
    if unknown:
        raise OptionError(f"unknown training option(s) {sorted(unknown)}; known: {sorted(known)}")
    return TrainConfig(**values)
