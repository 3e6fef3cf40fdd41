"""MNIST from mnist.npz: the real file's shapes and class counts, and malformed files."""

import numpy as np
import pytest

from rshw.data import load_dataset
from rshw.errors import DataError

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize(("split", "counts"), [("train", TRAIN_COUNTS), ("test", TEST_COUNTS)])
def test_real_mnist(shared_data, split, counts):
    folder = shared_data("mnist")
    ds = load_dataset("mnist", root=folder, split=split)
    assert ds.x.shape == (sum(counts), 28, 28, 1) and ds.x.dtype == np.uint8
    assert ds.y.dtype == np.int64 and np.bincount(ds.y).tolist() == counts
    assert (ds.in_channels, ds.input_size, ds.num_classes) == (1, (28, 28), 10)
    assert ds.mean == (0.1307,) and ds.std == (0.3081,) and not ds.is_events
    assert ds.source == str(folder / "mnist.npz") and len(ds) == sum(counts)


def _write_mnist(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_file_or_folder(tmp_path):
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    y = np.array([3, 7], dtype=np.uint8)
    path = _write_mnist(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    for root in (tmp_path, path):
        ds = load_dataset("mnist", root=root, split="test")
        np.testing.assert_array_equal(ds.x[..., 0], x)
        assert ds.y.tolist() == [3, 7]


def test_missing_key_is_named(tmp_path):
    x = np.zeros((2, 28, 28), np.uint8)
    _write_mnist(tmp_path / "mnist.npz", x_train=x, x_test=x, y_test=np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="y_train"):
        load_dataset("mnist", root=tmp_path, split="train")


def test_wrong_shape(tmp_path):
    x = np.zeros((2, 28 * 28), np.uint8)
    y = np.zeros(2, np.uint8)
    _write_mnist(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    with pytest.raises(ValueError, match=r"uint8 \[N, H, W\]"):
        load_dataset("mnist", root=tmp_path)


def test_not_an_npz(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable npz"):
        load_dataset("mnist", root=tmp_path)


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.99])
def test_truncated_file_is_named(tmp_path, fraction):
    x, y = np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)
    path = _write_mnist(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(DataError, match=str(path)):
        load_dataset("mnist", root=path)


def test_overwritten_bytes_inside_an_array(tmp_path):
    x = np.arange(2 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28)
    y = np.zeros(2, np.uint8)
    path = _write_mnist(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    data = bytearray(path.read_bytes())
    data[400:500] = bytes(100)  # inside x_train's stored bytes: the CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=rf"{path} is corrupted \(BadZipFile"):
        load_dataset("mnist", root=path)
