"""ImageFolder images (``<split>/<class>/<file>``) from a folder or straight from a tar archive.

Reading the archive member by member avoids unpacking 60,000 files to disk. Both readers return
images in a stable order: by class (label order), then by file name.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import sys
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from io import BytesIO, RawIOBase
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from rshw.data.dataset import SPLITS
from rshw.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".txz")


def is_imagefolder(path: Path) -> bool:
    return path.is_dir() and any((path / split).is_dir() for split in SPLITS)


def is_tar(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(TAR_SUFFIXES)


def class_order(names: Iterable[str], canonical: Sequence[str] = ()) -> list[str]:
    """Class names sorted, or in ``canonical`` order when they are exactly those names."""
    found = sorted(set(names))
    return list(canonical) if canonical and set(found) == set(canonical) else found


def decode_image(data: bytes | Path, where: str) -> np.ndarray:
    """uint8 ``[H, W, 3]`` RGB pixels of one image file."""
    try:
        with Image.open(BytesIO(data) if isinstance(data, bytes) else data) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"cannot decode image {where}: {err}") from None


def stack_images(images: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
    """``[N, H, W, 3]``; every image must have the size of the first."""
    shape = images[0].shape
    for image, name in zip(images, names, strict=True):
        if image.shape != shape:
            raise DataError(f"image {name} is {image.shape}, but {names[0]} is {shape}")
    return np.stack(images)


def is_image(path: PurePosixPath | Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def folder_classes(root: Path, canonical: Sequence[str] = ()) -> list[str]:
    """Class folder names of every split under ``root``, so train and test share labels.

    Hidden folders (``.ipynb_checkpoints``) are not classes. A class folder without images is an
    error: it would silently give the model one more class than the data has.
    """
    split_dirs = [root / split for split in SPLITS if (root / split).is_dir()]
    class_dirs = [
        c for d in split_dirs for c in sorted(d.iterdir()) if c.is_dir() and c.name[0] != "."
    ]
    for class_dir in class_dirs:
        if not any(p.is_file() and is_image(p) for p in class_dir.iterdir()):
            raise DataError(
                f"class folder {class_dir} holds no {'/'.join(IMAGE_SUFFIXES)} images: add its "
                "images or remove the folder (it would add a class with no data)"
            )
    return class_order((c.name for c in class_dirs), canonical)


def folder_files(root: Path, split: str, classes: Sequence[str]) -> list[tuple[int, Path]]:
    """``(label, file)`` of every image of ``split``, in stable order."""
    split_dir = root / split
    if not split_dir.is_dir():
        raise FileNotFoundError(f"ImageFolder {root} has no {split}/ folder")
    files: list[tuple[int, Path]] = []
    skipped: list[Path] = []
    for label, name in enumerate(classes):
        class_dir = split_dir / name
        if class_dir.is_dir():
            entries = sorted(p for p in class_dir.iterdir() if p.is_file())
            files.extend((label, p) for p in entries if is_image(p))
            skipped.extend(p for p in entries if not is_image(p))
    if not files:
        raise DataError(f"{split_dir} holds no {'/'.join(IMAGE_SUFFIXES)} images in class folders")
    say_skipped(len(skipped), split_dir, skipped[0] if skipped else None)
    return files


def say_skipped(count: int, where: Path, example: PurePosixPath | Path | None) -> None:
    """One line on stderr when files that are not images were left out, so none vanish unseen."""
    if count:
        print(
            f"{where}: skipped {count} file(s) that are not {'/'.join(IMAGE_SUFFIXES)} images "
            f"(e.g. {example})",
            file=sys.stderr,
        )


def read_folder(files: Sequence[tuple[int, Path]], desc: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``(label, file)`` pairs into ``x`` ``[N, H, W, 3]`` and ``y`` ``[N]``."""
    images = [decode_image(path, str(path)) for _, path in tqdm(files, desc=desc, unit="img")]
    x = stack_images(images, [str(path) for _, path in files])
    return x, np.array([label for label, _ in files], dtype=np.int64)


class _CountingReader(RawIOBase):
    """Counts the (decompressed) bytes read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.count = stream, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def _open_compressed(archive: Path) -> BinaryIO:
    name = archive.name.lower()
    if name.endswith((".gz", ".tgz")):
        return gzip.open(archive, "rb")
    if name.endswith(".bz2"):
        return bz2.open(archive, "rb")
    if name.endswith((".xz", ".txz")):
        return lzma.open(archive, "rb")
    return open(archive, "rb")


def tar_images(archive: Path) -> Iterator[tuple[str, str, str, bytes]]:
    """``(split, class, file name, bytes)`` of every image member, in archive order.

    Members are matched on their last three path parts, so a leading folder is fine. Other
    files inside a class folder are skipped and counted in one line on stderr. A cut archive is a
    DataError: Python's tarfile reads one cut at a member boundary as a shorter archive, so the
    end-of-archive blocks (two of 512 zero bytes) are checked for.
    """
    skipped: list[str] = []
    try:
        with _open_compressed(archive) as raw:
            counted = _CountingReader(raw)
            with tarfile.open(fileobj=counted, mode="r|") as tar:
                for member in tar:
                    parts = PurePosixPath(member.name).parts
                    if not member.isfile() or len(parts) < 3 or parts[-3] not in SPLITS:
                        continue
                    if not is_image(PurePosixPath(parts[-1])):
                        skipped.append(member.name)
                        continue
                    f = tar.extractfile(member)
                    if f is not None:
                        yield parts[-3], parts[-2], parts[-1], f.read()
                end = tar.offset
            while counted.read(1 << 20):  # to the end: a cut compressed stream raises here
                pass
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error) as err:
        raise DataError(
            f"{archive} is truncated or corrupted ({type(err).__name__}: {err}); download it again"
        ) from None
    if counted.count < end + 2 * tarfile.BLOCKSIZE:
        raise DataError(
            f"{archive} ends without the end-of-archive blocks after {end} bytes: it is truncated; "
            "download it again"
        )
    say_skipped(len(skipped), archive, skipped[0] if skipped else None)


def read_tar(
    archive: Path, canonical: Sequence[str] = ()
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str]]:
    """Decode every split of ``archive`` in one pass: ``({split: (x, y)}, classes)``.

    A split without images is left out of the dict.
    """
    decoded: dict[str, list[tuple[str, str, np.ndarray]]] = {split: [] for split in SPLITS}
    for split, cls, name, data in tqdm(
        tar_images(archive), desc=f"decoding {archive.name}", unit="img"
    ):
        decoded[split].append((cls, name, decode_image(data, f"{archive}:{split}/{cls}/{name}")))
    classes = class_order((cls for items in decoded.values() for cls, _, _ in items), canonical)
    if not classes:
        raise DataError(f"{archive} holds no images under train/<class>/ or test/<class>/")
    label = {name: i for i, name in enumerate(classes)}
    arrays = {}
    for split, items in decoded.items():
        if not items:
            continue
        items.sort(key=lambda item: (label[item[0]], item[1]))
        names = [f"{split}/{cls}/{name}" for cls, name, _ in items]
        x = stack_images([image for _, _, image in items], names)
        arrays[split] = (x, np.array([label[cls] for cls, _, _ in items], dtype=np.int64))
    return arrays, classes
