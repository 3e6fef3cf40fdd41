"""The official CIFAR pickle layout, read with an unpickler that refuses anything but numpy."""

import codecs
import os
import pickle

import numpy as np
import pytest

from rshw.data import load_dataset
from rshw.data.cifar import CIFAR10_CLASSES
from rshw.errors import DataError


def _batch(rng, n, labels_key):
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), labels_key: list(range(n))}


def _dump(path, obj, protocol=pickle.DEFAULT_PROTOCOL):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def _cifar10_folder(root, protocol=pickle.DEFAULT_PROTOCOL):
    """A tiny cifar-10-batches-py: 2 images per training batch, 3 test images."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    batches = {f"data_batch_{i}": _batch(rng, 2, b"labels") for i in range(1, 6)}
    batches["test_batch"] = _batch(rng, 3, b"labels")
    for name, batch in batches.items():
        _dump(folder / name, batch, protocol)
    meta = {b"label_names": [c.encode() for c in CIFAR10_CLASSES]}
    _dump(folder / "batches.meta", meta, protocol)
    return folder, batches


@pytest.mark.parametrize("protocol", [2, pickle.DEFAULT_PROTOCOL, 5])
def test_official_cifar10(tmp_path, protocol):
    folder, batches = _cifar10_folder(tmp_path, protocol)
    for root in (tmp_path, folder):
        train = load_dataset("cifar10", root=root, split="train")
        assert train.x.shape == (10, 32, 32, 3) and train.x.dtype == np.uint8
        assert train.y.tolist() == [0, 1] * 5 and train.classes == list(CIFAR10_CLASSES)
        assert train.source == str(folder)
    test = load_dataset("cifar10", root=folder, split="test")
    data = batches["test_batch"][b"data"]
    np.testing.assert_array_equal(test.x, data.reshape(3, 3, 32, 32).transpose(0, 2, 3, 1))
    assert test.mean == (0.4914, 0.4822, 0.4465) and test.std == (0.2470, 0.2435, 0.2616)


def test_official_cifar100_with_str_keys(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(1)
    names = [f"class{i:02d}" for i in range(100)]
    _dump(folder / "meta", {"fine_label_names": names})
    for split, n in (("train", 4), ("test", 2)):
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        _dump(folder / split, {"data": data, "fine_labels": [99, 0, 5, 7][:n]})
    ds = load_dataset("cifar100", root=tmp_path, split="test")
    assert ds.y.tolist() == [99, 0] and ds.num_classes == 100 and ds.classes == names
    assert ds.mean == (0.5071, 0.4865, 0.4409)


def test_missing_batch_is_named(tmp_path):
    folder, _ = _cifar10_folder(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(ValueError, match="data_batch_3"):
        load_dataset("cifar10", root=folder, split="train")


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused(tmp_path):
    folder, _ = _cifar10_folder(tmp_path)
    marker = tmp_path / "pwned"
    _dump(folder / "test_batch", {b"data": _Exploit(marker), b"labels": [0]})
    with pytest.raises(DataError, match=r"refusing to load (posix|os|nt)\.system"):
        load_dataset("cifar10", root=folder, split="test")
    assert not marker.exists()


def test_codecs_encode_only_for_latin1(tmp_path):
    class _Rot13:
        def __reduce__(self):
            return codecs.encode, ("abc", "rot13")

    folder, _ = _cifar10_folder(tmp_path)
    _dump(folder / "test_batch", {b"data": _Rot13(), b"labels": [0]}, protocol=2)
    with pytest.raises(DataError, match="rot13"):
        load_dataset("cifar10", root=folder, split="test")


def _damaged(tmp_path, damage):
    folder, _ = _cifar10_folder(tmp_path)
    batch = folder / "test_batch"
    batch.write_bytes(damage(batch.read_bytes()))
    return folder, batch


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.3, 0.5, 0.9, 0.999])
def test_truncated_batch_names_the_file(tmp_path, fraction):
    folder, batch = _damaged(tmp_path, lambda data: data[: int(len(data) * fraction)])
    with pytest.raises(DataError, match=rf"{batch}.*truncated or corrupted"):
        load_dataset("cifar10", root=folder, split="test")


@pytest.mark.parametrize("seed", range(8))
def test_junk_bytes_name_the_file(tmp_path, seed):
    junk = np.random.default_rng(seed).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    folder, batch = _damaged(tmp_path, lambda data: data[:40] + junk)
    with pytest.raises(DataError, match=str(batch)):
        load_dataset("cifar10", root=folder, split="test")


def test_corrupted_batch_on_the_command_line(tmp_path, cli, one_line):
    folder, batch = _damaged(tmp_path, lambda data: data[: len(data) // 2])
    out = tmp_path / "run"
    code, stdout, err = cli(
        "train", "--model", "scnn", "--dataset", "cifar10", "--data", folder, "--out", out
    )
    assert code == 2 and stdout == "" and not out.exists()
    one_line(err, "rshw train: error:", str(batch), "truncated or corrupted")
