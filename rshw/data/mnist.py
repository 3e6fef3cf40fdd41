"""MNIST from one ``mnist.npz`` (x_train, y_train, x_test, y_test), lossless, in idx order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rshw.data.dataset import ArrayDataset, image_dataset
from rshw.data.npzfile import find_file, read_arrays
from rshw.errors import DataError

FILE_NAME = "mnist.npz"
MEAN, STD = (0.1307,), (0.3081,)
LAYOUTS = [
    f"{FILE_NAME} with keys x_train, y_train, x_test, y_test (the file or a folder holding it)"
]


def find(path: Path) -> Path | None:
    return find_file(path, [FILE_NAME])


def load(source: Path, split: str) -> ArrayDataset:
    arrays = read_arrays(source, [f"x_{split}", f"y_{split}"])
    x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
    if x.dtype != np.uint8 or x.ndim != 3 or y.shape != (len(x),):
        raise DataError(
            f"{source}: x_{split} must be uint8 [N, H, W] and y_{split} [N]; "
            f"got {x.dtype} {x.shape} and {y.shape}"
        )
    return image_dataset(
        x[..., None],
        y,
        name="mnist",
        split=split,
        classes=[str(d) for d in range(10)],
        mean=MEAN,
        std=STD,
        source=str(source),
    )
