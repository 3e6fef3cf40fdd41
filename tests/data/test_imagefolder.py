"""ImageFolder images from a folder and from a tar archive, and the decoded-array cache."""

import io
import os
import tarfile

import numpy as np
import pytest
from PIL import Image

from rshw.data import cifar, load_dataset
from rshw.errors import DataError

CLASSES = ["cat", "ant", "bee"]  # sorted: ant, bee, cat


def _png(value: int) -> bytes:
    """A 4×6 PNG whose every pixel is (value, value + 1, value + 2): lossless, easy to check."""
    pixels = np.broadcast_to(np.array([value, value + 1, value + 2], np.uint8), (4, 6, 3))
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(out, format="PNG")
    return out.getvalue()


def _files():
    """``{split/class/name: pixel value}``: two images per class in train, one in test."""
    files = {}
    for c, cls in enumerate(CLASSES):
        for i in (1, 0):
            files[f"train/{cls}/{i:04d}.png"] = 10 * c + i
        files[f"test/{cls}/0000.png"] = 100 + c
    return files


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "images"
    for name, value in _files().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(_png(value))
    return root


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "images.tar.xz"
    with tarfile.open(path, "w:xz") as tar:
        for name, value in _files().items():
            data = _png(value)
            info = tarfile.TarInfo(f"cifar/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _check(ds):
    """Labels follow sorted class names, files sort by name within a class."""
    assert ds.classes == ["ant", "bee", "cat"] and ds.x.shape[1:] == (4, 6, 3)
    if ds.split == "train":
        assert ds.y.tolist() == [0, 0, 1, 1, 2, 2]
        assert ds.x[:, 0, 0, 0].tolist() == [10, 11, 20, 21, 0, 1]
    else:
        assert ds.y.tolist() == [0, 1, 2] and ds.x[:, 0, 0, 0].tolist() == [101, 102, 100]
    assert ds.x[0, 3, 5].tolist() == [ds.x[0, 0, 0, 0] + k for k in range(3)]


@pytest.mark.parametrize("split", ["train", "test"])
def test_folder(cache, image_folder, split):
    ds = load_dataset("cifar100", root=image_folder, split=split)
    _check(ds)
    assert ds.source == str(image_folder)


def test_folder_cache(cache, image_folder, monkeypatch):
    first = load_dataset("cifar10", root=image_folder)
    assert len(list(cache.glob("cifar10-train-*.npz"))) == 1
    monkeypatch.setattr(cifar, "read_folder", _must_not_decode)
    second = load_dataset("cifar10", root=image_folder)
    np.testing.assert_array_equal(first.x, second.x)
    (image_folder / "train/ant/0002.png").write_bytes(_png(50))
    with pytest.raises(AssertionError, match="decoded again"):
        load_dataset("cifar10", root=image_folder)


@pytest.mark.parametrize("split", ["train", "test"])
def test_archive(cache, archive, split):
    _check(load_dataset("cifar10", root=archive, split=split))


def test_archive_cache(cache, archive, monkeypatch):
    """One pass decodes and caches both splits; a changed archive is decoded afresh."""
    train = load_dataset("cifar10", root=archive, split="train")
    assert sorted(p.name.split("-")[1] for p in cache.glob("*.npz")) == ["test", "train"]
    monkeypatch.setattr(cifar, "read_tar", _must_not_decode)
    np.testing.assert_array_equal(load_dataset("cifar10", root=archive).x, train.x)
    _check(load_dataset("cifar10", root=archive.parent / "images.tar.xz", split="test"))
    os.utime(archive, ns=(0, 0))
    with pytest.raises(AssertionError, match="decoded again"):
        load_dataset("cifar10", root=archive, split="test")


def _must_not_decode(*args, **kwargs):
    raise AssertionError("decoded again although the cache holds the arrays")


def test_archive_in_data_folder(cache, archive, tmp_path):
    archive.rename(tmp_path / "cifar10_jpeg.tar.xz")
    ds = load_dataset("cifar10", root=tmp_path, split="test")
    assert ds.source == str(tmp_path / "cifar10_jpeg.tar.xz")


def test_mixed_image_sizes(cache, image_folder):
    Image.new("RGB", (5, 5)).save(image_folder / "test/bee/0001.png")
    with pytest.raises(ValueError, match=r"0001\.png"):
        load_dataset("cifar10", root=image_folder, split="test")


def test_broken_image(cache, image_folder):
    (image_folder / "test/bee/0000.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot decode"):
        load_dataset("cifar10", root=image_folder, split="test")


@pytest.mark.slow
def test_real_archive_test_split(cache, shared_data):
    folder = shared_data("cifar10")
    ds = load_dataset("cifar10", root=folder, split="test")
    assert ds.x.shape == (10000, 32, 32, 3) and np.bincount(ds.y).tolist() == [1000] * 10
    with np.load(folder / "cifar10_test_first20_lossless.npz") as ref:
        reference, label = ref["x"][0], ref["y"][0]
    # official test image 0 is a cat: the first cat of the per-class order, JPEG-degraded
    assert label == 3 and np.abs(ds.x[ds.y == 3][0].astype(int) - reference).mean() < 12


def test_empty_class_folder_is_refused(cache, image_folder, cli, one_line):
    (image_folder / "test" / "dog").mkdir()
    with pytest.raises(DataError, match=r"test/dog holds no .*images"):
        load_dataset("cifar10", root=image_folder)
    out = image_folder.parent / "run"
    code, stdout, err = cli(
        "train", "--model", "scnn", "--dataset", "cifar10", "--data", image_folder, "--out", out
    )
    assert code == 2 and stdout == "" and not out.exists()
    one_line(err, "rshw train: error:", str(image_folder / "test" / "dog"))


def test_hidden_folders_are_not_classes(cache, image_folder):
    (image_folder / "train" / ".ipynb_checkpoints").mkdir()
    _check(load_dataset("cifar10", root=image_folder))


def test_skipped_files_are_counted_once(cache, image_folder, capsys):
    for name in ("train/ant/notes.txt", "train/bee/.DS_Store", "train/cat/labels.csv"):
        (image_folder / name).write_text("not an image")
    (image_folder / "test/ant/readme.md").write_text("not an image")
    _check(load_dataset("cifar10", root=image_folder))
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if ": skipped " in line] == [
        f"{image_folder / 'train'}: skipped 3 file(s) that are not .jpg/.jpeg/.png images "
        f"(e.g. {image_folder / 'train/ant/notes.txt'})"
    ]


def test_skipped_archive_members_are_counted(cache, tmp_path, capsys):
    path = tmp_path / "mixed.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in (("train/ant/0.png", _png(1)), ("train/ant/x.txt", b"no")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    load_dataset("cifar10", root=path, split="train")
    assert f"{path}: skipped 1 file(s)" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", ["tar", "tar.xz", "tar.gz"])
@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.6, 0.9])
def test_cut_archive_is_refused(cache, tmp_path, suffix, fraction):
    """tarfile itself reads an archive cut at a member boundary as a shorter one."""
    whole = tmp_path / f"whole.{suffix}"
    with tarfile.open(whole, "w:" + suffix.partition(".")[2]) as tar:
        for name, value in _files().items():
            data = _png(value)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = whole.read_bytes()
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(DataError, match=rf"{cut} .*truncated"):
        load_dataset("cifar10", root=cut)


def test_archive_cut_at_a_member_boundary(cache, archive, tmp_path):
    plain = tmp_path / "plain.tar"
    with tarfile.open(archive) as source, tarfile.open(plain, "w") as tar:
        for member in source:
            tar.addfile(member, source.extractfile(member))
    member = 512 + 512  # a header block, and one data block: each PNG here is under 512 bytes
    cut = tmp_path / "boundary.tar"
    cut.write_bytes(plain.read_bytes()[: 3 * member])
    with pytest.raises(DataError, match="end-of-archive blocks after 3072 bytes"):
        load_dataset("cifar10", root=cut)
