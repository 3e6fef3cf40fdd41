"""Dataset names → where to look and how to read: the one table ``load_dataset`` dispatches on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rshw.data import cifar, mnist, nmnist
from rshw.data.dataset import SPLITS, ArrayDataset
from rshw.data.paths import locate
from rshw.errors import OptionError


@dataclass(frozen=True)
class DatasetEntry:
    folders: tuple[str, ...]
    """Folder names tried under $RSHW_DATA, ./data and <repo>/../shared/data."""
    layouts: list[str]
    find: Callable[[Path], Path | None]
    load: Callable[[Path, str, int], ArrayDataset]


DATASETS: dict[str, DatasetEntry | None] = {
    "cifar10": DatasetEntry(
        ("cifar10",),
        cifar.layouts("cifar10"),
        partial(cifar.find, "cifar10"),
        lambda source, split, _: cifar.load("cifar10", source, split),
    ),
    "cifar10-sample": None,
    "cifar100": DatasetEntry(
        ("cifar100",),
        cifar.layouts("cifar100"),
        partial(cifar.find, "cifar100"),
        lambda source, split, _: cifar.load("cifar100", source, split),
    ),
    "mnist": DatasetEntry(
        ("mnist",), mnist.LAYOUTS, mnist.find, lambda source, split, _: mnist.load(source, split)
    ),
    "nmnist": DatasetEntry(("nmnist", "nmnist_small"), nmnist.LAYOUTS, nmnist.find, nmnist.load),
}
"""Every dataset; ``None`` marks the sample embedded in the package (no files to find)."""


def list_datasets() -> list[str]:
    return sorted(DATASETS)


def load_dataset(
    name: str, root: str | Path | None = None, split: str = "train", timesteps: int = 4
) -> ArrayDataset:
    """Load a split into memory. ``root`` is a folder or file holding the data; without it,
    ``$RSHW_DATA/<name>``, ``./data/<name>`` and ``<repo>/../shared/data/<name>`` are tried.
    ``timesteps`` is the number of frames events are binned into (N-MNIST only)."""
    if name not in DATASETS:
        raise OptionError(f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}")
    if split not in SPLITS:
        raise OptionError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if timesteps < 1:
        raise OptionError(f"timesteps must be at least 1, got {timesteps}")
    entry = DATASETS[name]
    if entry is None:
        return cifar.load_sample(split)
    source = locate(name, root, entry.folders, entry.layouts, entry.find)
    return entry.load(source, split, timesteps)
