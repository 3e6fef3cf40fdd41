"""CIFAR-10/100 from the official pickle batches, an ImageFolder, or a tar archive of one.

Lossless official batches are preferred when a folder holds several layouts. Decoded ImageFolder and
archive images are cached (see :mod:`rshw.data.cache`); the pickles load fast enough without.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rshw.data import cache
from rshw.data.dataset import SPLITS, ArrayDataset, image_dataset
from rshw.data.imagefolder import (
    folder_classes,
    folder_files,
    is_imagefolder,
    is_tar,
    read_folder,
    read_tar,
)
from rshw.data.safe_pickle import load_numpy_pickle
from rshw.errors import DataError

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
MEAN_STD = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
"""Per-channel statistics of the official training sets, as commonly quoted."""

SAMPLE_PATH = Path(__file__).parent / "sample" / "cifar10_test500.npz"
SAMPLE_TRAIN_PER_CLASS = 40


@dataclass(frozen=True)
class OfficialLayout:
    folder: str
    files: dict[str, tuple[str, ...]]
    meta: str
    names_key: bytes
    labels_key: bytes


OFFICIAL = {
    "cifar10": OfficialLayout(
        folder="cifar-10-batches-py",
        files={"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)},
        meta="batches.meta",
        names_key=b"label_names",
        labels_key=b"labels",
    ),
    "cifar100": OfficialLayout(
        folder="cifar-100-python",
        files={"train": ("train",), "test": ("test",)},
        meta="meta",
        names_key=b"fine_label_names",
        labels_key=b"fine_labels",
    ),
}
ARCHIVES = {"cifar10": "cifar10_jpeg.tar.xz"}
"""Archive file names looked for inside a data folder."""


def layouts(name: str) -> list[str]:
    """How ``name`` may be laid out, for error messages."""
    official = OFFICIAL[name]
    found = [
        f"{official.folder}/ with {', '.join(official.files['train'] + official.files['test'])}, "
        f"{official.meta} (the official python release; the folder or one holding it)",
        "train/<class>/*.png|jpg and test/<class>/*.png|jpg (ImageFolder)",
    ]
    if name in ARCHIVES:
        found.append(
            f"{ARCHIVES[name]} (ImageFolder in a tar archive; the file or a folder holding it)"
        )
    return found


def find(name: str, path: Path) -> Path | None:
    """The source of ``name`` at ``path`` (official folder, ImageFolder root or archive), if any."""
    official = OFFICIAL[name].folder
    if path.is_dir() and path.name == official:
        return path
    if (path / official).is_dir():
        return path / official
    if is_imagefolder(path):
        return path
    if name in ARCHIVES and (path / ARCHIVES[name]).is_file():
        return path / ARCHIVES[name]
    return path if is_tar(path) else None


def load(name: str, source: Path, split: str) -> ArrayDataset:
    canonical = CIFAR10_CLASSES if name == "cifar10" else ()
    if source.is_file():
        x, y, classes = _cached_tar(name, source, split, canonical)
    elif source.name == OFFICIAL[name].folder:
        x, y, classes = read_official(source, OFFICIAL[name], split)
    else:
        x, y, classes = _cached_folder(name, source, split, canonical)
    mean, std = MEAN_STD[name]
    return image_dataset(
        x, y, name=name, split=split, classes=classes, mean=mean, std=std, source=str(source)
    )


def read_official(
    folder: Path, layout: OfficialLayout, split: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images ``[N, 32, 32, 3]``, labels and class names from the official pickle batches."""
    meta = load_numpy_pickle(_official_file(folder, layout.meta))
    classes = [_text(n) for n in _entry(meta, layout.names_key, folder / layout.meta)]
    xs, ys = [], []
    for file_name in layout.files[split]:
        path = _official_file(folder, file_name)
        batch = load_numpy_pickle(path)
        data = np.asarray(_entry(batch, b"data", path))
        labels = np.asarray(_entry(batch, layout.labels_key, path), dtype=np.int64)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise DataError(f"{path}: data must be uint8 [N, 3072], got {data.dtype} {data.shape}")
        if labels.shape != (len(data),):
            raise DataError(f"{path}: {len(labels)} labels for {len(data)} images")
        xs.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys.append(labels)
    return np.concatenate(xs), np.concatenate(ys), classes


def _official_file(folder: Path, file_name: str) -> Path:
    path = folder / file_name
    if not path.is_file():
        raise DataError(f"{folder} is missing {file_name} (expected the official python release)")
    return path


def _entry(container: object, key: bytes, path: Path) -> object:
    """``container[key]``, accepting str keys too (pickles written by Python 3)."""
    if isinstance(container, dict):
        for candidate in (key, key.decode()):
            if candidate in container:
                return container[candidate]
    raise DataError(f"{path}: expected a dict with key {key.decode()!r}")


def _text(name: bytes | str) -> str:
    return name.decode() if isinstance(name, bytes) else str(name)


def _cached_tar(
    name: str, archive: Path, split: str, canonical: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode the whole archive once (all splits in one pass) and cache each split."""
    key = cache.fingerprint(archive)
    cached = cache.load_cached(cache.cache_path(name, split, key))
    if cached is None:
        arrays, classes = read_tar(archive, canonical)
        for part, (x, y) in arrays.items():
            entry = {"x": x, "y": y, "classes": np.array(classes)}
            cache.save_cached(cache.cache_path(name, part, key), entry)
        if split not in arrays:
            raise DataError(f"{archive} holds no {split}/<class>/ images")
        return *arrays[split], classes
    return cached["x"], cached["y"], [str(c) for c in cached["classes"]]


def _cached_folder(
    name: str, root: Path, split: str, canonical: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode one split of an ImageFolder once; the key covers every file's size and mtime."""
    classes = folder_classes(root, canonical)
    files = folder_files(root, split, classes)
    dirs = [root / s / c for s in SPLITS for c in classes if (root / s / c).is_dir()]
    key = cache.fingerprint(root, [*dirs, *(path for _, path in files)])
    path = cache.cache_path(name, split, key)
    cached = cache.load_cached(path)
    if cached is not None:
        return cached["x"], cached["y"], classes
    x, y = read_folder(files, desc=f"decoding {root / split}")
    cache.save_cached(path, {"x": x, "y": y})
    return x, y, classes


def load_sample(split: str) -> ArrayDataset:
    """The embedded 500 CIFAR-10 test images: per class, the first 40 train, the last 10 test."""
    with np.load(SAMPLE_PATH, allow_pickle=False) as npz:
        x, y, classes = npz["x"], npz["y"].astype(np.int64), [str(c) for c in npz["classes"]]
    chosen = []
    for label in range(len(classes)):
        members = np.flatnonzero(y == label)
        chosen.append(
            members[:SAMPLE_TRAIN_PER_CLASS]
            if split == "train"
            else members[SAMPLE_TRAIN_PER_CLASS:]
        )
    index = np.concatenate(chosen)
    mean, std = MEAN_STD["cifar10"]
    return image_dataset(
        x[index],
        y[index],
        name="cifar10-sample",
        split=split,
        classes=classes,
        mean=mean,
        std=std,
        source=str(SAMPLE_PATH),
    )
