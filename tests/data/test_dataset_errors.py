"""Errors that tell a user what exists and what to do."""

import numpy as np
import pytest

from rshw.data import list_datasets, load_dataset, paths


def test_list():
    assert list_datasets() == ["cifar10", "cifar10-sample", "cifar100", "mnist", "nmnist"]


def test_unknown_dataset_lists_known():
    with pytest.raises(ValueError, match="cifar10, cifar10-sample, cifar100, mnist, nmnist"):
        load_dataset("imagenet")


def test_unknown_split():
    with pytest.raises(ValueError, match="train, test"):
        load_dataset("cifar10-sample", split="val")


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No dataset anywhere: empty $RSHW_DATA, ./data and shared data folder."""
    monkeypatch.setenv("RSHW_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(paths, "SHARED_DATA", tmp_path / "shared")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "env").mkdir()
    (tmp_path / "data" / "nmnist").mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "folders", "layout"),
    [
        ("mnist", ["mnist"], "mnist.npz"),
        ("nmnist", ["nmnist", "nmnist_small"], "nmnist_small.npz"),
        ("cifar10", ["cifar10"], "cifar-10-batches-py"),
        ("cifar100", ["cifar100"], "cifar-100-python"),
    ],
)
def test_missing_lists_every_path(nowhere, name, folders, layout):
    with pytest.raises(FileNotFoundError) as info:
        load_dataset(name)
    message = str(info.value)
    for base in (nowhere / "env", nowhere / "data", nowhere / "shared"):
        for folder in folders:
            assert str(base / folder) in message
    assert layout in message and "--data PATH" in message and "$RSHW_DATA" in message
    if name == "nmnist":
        assert "exists, no known layout" in message


def test_missing_root_lists_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        load_dataset("mnist", root=tmp_path / "nothing-here")


def test_data_folder_in_cwd_is_found(nowhere):
    x, y = np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8)
    (nowhere / "data" / "mnist").mkdir()
    np.savez(nowhere / "data" / "mnist" / "mnist.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    assert load_dataset("mnist").source == str(nowhere / "data" / "mnist" / "mnist.npz")
