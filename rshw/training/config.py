"""The configuration of a training run: what ``rshw train`` takes and every checkpoint stores
(its metadata's ``train_config``), with the settings a resumed run must share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rshw.errors import OptionError

OPTIMIZERS = ("sgd", "adamw")
PRECISIONS = ("auto", "fp32", "bf16")
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
    precision: str = "auto"
    """Training-step arithmetic: auto (bf16 where supported), fp32 or bf16."""
    val_size: int | None = None
    """Samples held out of the training split to choose ``best`` (None: 5,000 for 50k+ sets,
    else 10 %)."""

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
        if self.precision not in PRECISIONS:
            raise OptionError(
                f"unknown precision {self.precision!r}; choose one of {list(PRECISIONS)}"
            )
        if self.val_size is not None and self.val_size < 1:
            raise OptionError(f"val_size must be >= 1, got {self.val_size}")

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
        "val_size",
    )
