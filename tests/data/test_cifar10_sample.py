"""The CIFAR-10 sample shipped inside the package."""

import numpy as np

from rshw.data import load_dataset
from rshw.data.cifar import CIFAR10_CLASSES, SAMPLE_PATH


def test_sample_file():
    assert SAMPLE_PATH.stat().st_size < 2_000_000
    assert (SAMPLE_PATH.parent / "README.md").is_file()
    with np.load(SAMPLE_PATH) as npz:
        x, y, index = npz["x"], npz["y"], npz["index"]
    assert x.shape == (500, 32, 32, 3) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [50] * 10
    assert index.tolist() == list(range(50)) * 10


def test_sample_splits():
    train = load_dataset("cifar10-sample", split="train")
    test = load_dataset("cifar10-sample", split="test")
    assert (len(train), len(test)) == (400, 100)
    assert np.bincount(train.y).tolist() == [40] * 10 and np.bincount(test.y).tolist() == [10] * 10
    assert train.classes == list(CIFAR10_CLASSES) and train.mean == (0.4914, 0.4822, 0.4465)
    assert train.source == str(SAMPLE_PATH) and train.name == "cifar10-sample"
    train_images = {image.tobytes() for image in train.x}
    assert not any(image.tobytes() in train_images for image in test.x)
