"""Build the embedded ``cifar10-sample``: the first 50 test images of each class from the archive.

One-off: ``python -m rshw.data.make_sample --archive PATH/cifar10_jpeg.tar.xz`` rewrites
``rshw/data/sample/cifar10_test500.npz`` (x uint8 [500, 32, 32, 3], y, index, classes), ordered by
class, then by file index within the class.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path, PurePosixPath

import numpy as np

from rshw.data.cifar import CIFAR10_CLASSES, SAMPLE_PATH
from rshw.data.imagefolder import decode_image, stack_images, tar_images
from rshw.errors import DataError

PER_CLASS = 50


def build_sample(archive: Path, per_class: int = PER_CLASS) -> dict[str, np.ndarray]:
    """Decode the first ``per_class`` test images of every class, by file index."""
    blobs: dict[str, dict[str, bytes]] = defaultdict(dict)
    for split, cls, name, data in tar_images(archive):
        if split == "test":
            blobs[cls][name] = data
    if sorted(blobs) != sorted(CIFAR10_CLASSES):
        raise DataError(f"{archive}: test classes {sorted(blobs)} are not CIFAR-10's")
    images, labels, indices, names = [], [], [], []
    for label, cls in enumerate(CIFAR10_CLASSES):
        chosen = sorted(blobs[cls])[:per_class]
        if len(chosen) < per_class:
            raise DataError(f"{archive}: test/{cls} has {len(chosen)} images, need {per_class}")
        for name in chosen:
            images.append(decode_image(blobs[cls][name], f"{archive}:test/{cls}/{name}"))
            labels.append(label)
            indices.append(int(PurePosixPath(name).stem))
            names.append(f"test/{cls}/{name}")
    return {
        "x": stack_images(images, names),
        "y": np.array(labels, dtype=np.uint8),
        "index": np.array(indices, dtype=np.int16),
        "classes": np.array(CIFAR10_CLASSES),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rshw.data.make_sample", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--archive", type=Path, required=True, help="cifar10_jpeg.tar.xz")
    parser.add_argument("--out", type=Path, default=SAMPLE_PATH)
    args = parser.parse_args(argv)
    arrays = build_sample(args.archive)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out}: {len(arrays['x'])} images, {args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
