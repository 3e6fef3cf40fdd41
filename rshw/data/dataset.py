"""The one in-memory dataset type every reader returns, so the loader and the trainer see one shape.

Images are uint8 ``[N, H, W, C]`` (MNIST has C=1); events are int16 count frames
``[N, T, 2, H, W]`` (events per polarity and pixel in each time bin, not normalised).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rshw.errors import DataError, OptionError

SPLITS = ("train", "test")
"""Splits a reader provides; "val" is carved out of "train" by
:meth:`ArrayDataset.split_validation`."""


@dataclass
class ArrayDataset:
    """Arrays plus what a model and a checkpoint need to know about them.

    ``num_classes``, ``in_channels`` and ``input_size`` are stored, not derived, so metadata reads
    like the rest; :meth:`__post_init__` checks that they agree with the arrays.
    """

    x: np.ndarray
    y: np.ndarray
    name: str
    split: str
    classes: list[str]
    num_classes: int
    in_channels: int
    input_size: tuple[int, int]
    is_events: bool
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    source: str

    def __post_init__(self) -> None:
        where = f"dataset {self.name!r} ({self.split}, from {self.source})"
        ndim = 5 if self.is_events else 4
        if self.x.ndim != ndim:
            raise DataError(f"{where}: x must have {ndim} dims, got shape {self.x.shape}")
        if self.y.shape != (len(self.x),) or self.y.dtype != np.int64:
            raise DataError(
                f"{where}: y must be int64 [{len(self.x)}], got {self.y.dtype} {self.y.shape}"
            )
        if self.num_classes != len(self.classes):
            raise DataError(
                f"{where}: num_classes={self.num_classes} but {len(self.classes)} names"
            )
        if len(self.y) and not 0 <= self.y.min() <= self.y.max() < self.num_classes:
            raise DataError(f"{where}: labels outside 0..{self.num_classes - 1}")
        channels, size = (
            (self.x.shape[2], self.x.shape[3:5])
            if self.is_events
            else (self.x.shape[3], self.x.shape[1:3])
        )
        if self.in_channels != channels or tuple(self.input_size) != tuple(size):
            raise DataError(
                f"{where}: in_channels={self.in_channels}, input_size={self.input_size} "
                f"disagree with x of shape {self.x.shape}"
            )
        if not self.is_events and (
            self.mean is None or self.std is None or not len(self.mean) == len(self.std) == channels
        ):
            raise DataError(f"{where}: images need mean and std with {channels} value(s) each")

    def __len__(self) -> int:
        return len(self.x)

    def random_subset(self, n: int, seed: int = 0) -> ArrayDataset:
        """``n`` samples drawn without replacement, in a seeded random order (class-sorted splits
        would otherwise give the first ``n`` of one class)."""
        if not 1 <= n <= len(self):
            raise OptionError(
                f"cannot take {n} samples from {self.name!r} ({self.split}), which has {len(self)}"
            )
        keep = np.random.default_rng(seed).permutation(len(self))[:n]
        return replace(self, x=self.x[keep], y=self.y[keep])

    def split_validation(self, n: int, seed: int = 0) -> tuple[ArrayDataset, ArrayDataset]:
        """``(rest, validation)``: ``n`` seeded random samples held out of this (training) split
        to choose checkpoints by, so the test split is looked at once, on the chosen one."""
        if not 1 <= n < len(self):
            raise OptionError(
                f"a validation split of {n} samples needs 1 <= n < {len(self)} "
                f"(the {self.split} split of {self.name!r})"
            )
        order = np.random.default_rng([seed, VALIDATION_STREAM]).permutation(len(self))
        held, rest = np.sort(order[:n]), np.sort(order[n:])
        return (
            replace(self, x=self.x[rest], y=self.y[rest]),
            replace(self, x=self.x[held], y=self.y[held], split="val"),
        )


VALIDATION_STREAM = 0x5A1
"""Second word of the validation split's seed: its draw differs from ``random_subset``'s."""


def default_validation_size(train_samples: int) -> int:
    """5,000 held-out samples for the 50-60k-image sets (CIFAR, MNIST), else 10 %."""
    return 5000 if train_samples >= 50_000 else max(1, round(0.1 * train_samples))


def image_dataset(
    x: np.ndarray,
    y: np.ndarray,
    *,
    name: str,
    split: str,
    classes: list[str],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    source: str,
) -> ArrayDataset:
    """An image :class:`ArrayDataset` with the shape fields read off ``x`` ``[N, H, W, C]``."""
    return ArrayDataset(
        x=np.ascontiguousarray(x, dtype=np.uint8),
        y=np.asarray(y, dtype=np.int64),
        name=name,
        split=split,
        classes=list(classes),
        num_classes=len(classes),
        in_channels=x.shape[3],
        input_size=(x.shape[1], x.shape[2]),
        is_events=False,
        mean=tuple(mean),
        std=tuple(std),
        source=source,
    )
