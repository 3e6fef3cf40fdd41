"""Training and evaluation of zoo models on the datasets of :mod:`rshw.data`.

One epoch = one pass over the (shuffled, augmented) training split, then a test-split evaluation.
After every epoch the run folder gets ``last.*`` (resumable checkpoint), ``best.*`` when the test
accuracy improved, and ``metrics.csv``. Re-running the same command resumes from ``last``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from rshw import checkpoint as ckpt
from rshw.data import load_dataset, make_loader
from rshw.models import create_model
from rshw.realspike import realspike_parameters
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

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; choose one of {list(OPTIMIZERS)}"
            )
        for name in ("timesteps", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
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
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


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


@torch.no_grad()
def evaluate(
    model: nn.Module, loader, device: torch.device, desc: str = "eval"
) -> dict[str, float]:
    """Mean cross-entropy and accuracy (%) of ``model`` over ``loader``."""
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    count = 0
    for x, y in tqdm(loader, desc=desc, leave=False, dynamic_ncols=True):
        x, y = x.to(device, non_blocking=True), y.to(device)
        with _autocast(device):
            logits = model(x)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
        count += y.numel()
    return {"loss": loss_sum.item() / count, "acc": 100.0 * correct.item() / count}


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


def train(cfg: TrainConfig, restart: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train (or resume) the run described by ``cfg``; returns the final metrics."""
    device = resolve_device(cfg.device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
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
    ).to(device)
    optimizer = build_optimizer(model, cfg)
    train_loader = make_loader(
        train_set,
        cfg.batch_size,
        shuffle=True,
        augment=cfg.augment,
        seed=cfg.seed,
        cutout=cfg.cutout,
    )
    test_loader = make_loader(test_set, max(cfg.batch_size, 256), shuffle=False, augment=False)

    last = out / "last"
    start_epoch, best_acc = 0, -1.0
    if ckpt.exists(last) and not restart:
        meta = ckpt.read_metadata(last)
        _check_resumable(cfg, meta, last)
        ckpt.load_checkpoint(last, model, map_location=str(device))
        ckpt.load_training_state(last, optimizer)
        start_epoch, best_acc = meta["epoch"], meta.get("best_test_acc", -1.0)
        if not quiet:
            print(
                f"resuming {last} after epoch {start_epoch} (test accuracy {meta['test_acc']:.2f}%)"
            )
    rows = _read_metrics(out / "metrics.csv", start_epoch)

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
        for i, (x, y) in enumerate(bar):
            lr = cosine_lr(cfg.lr, epoch * steps_per_epoch + i, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = x.to(device, non_blocking=True), y.to(device)
            with _autocast(device):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * y.numel()
            correct += (logits.argmax(1) == y).sum()
            seen += y.numel()
            if i % 20 == 0:
                bar.set_postfix(
                    loss=f"{loss_sum.item() / seen:.3f}", acc=f"{100 * correct.item() / seen:.1f}"
                )
        train_seconds = time.perf_counter() - t0
        test = evaluate(model, test_loader, device, desc="test")
        best_acc = max(best_acc, test["acc"])
        result = {
            "epoch": epoch + 1,
            "train_loss": loss_sum.item() / seen,
            "train_acc": 100.0 * correct.item() / seen,
            "test_loss": test["loss"],
            "test_acc": test["acc"],
            "best_test_acc": best_acc,
            "lr": lr,
            "epoch_seconds": train_seconds,
        }
        rows.append(result)
        meta = {
            "dataset": {"name": cfg.dataset, "source": train_set.source},
            "epoch": epoch + 1,
            "test_acc": test["acc"],
            "best_test_acc": best_acc,
            "seed": cfg.seed,
            "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
            "train_config": asdict(cfg),
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


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown training option(s) {sorted(unknown)}; known: {sorted(known)}")
    return TrainConfig(**values)
