"""BatchLoader: layout and normalisation, reproducibility per (seed, epoch), ranks, augmentation."""

import numpy as np
import pytest
import torch

from rshw.data import make_loader
from rshw.data.augment import cutout_keep_mask, random_crop, random_flip
from rshw.data.dataset import ArrayDataset, image_dataset


def _images(n=10, name="cifar10", channels=3, size=8):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, size, size, channels), dtype=np.uint8)
    mean, std = (0.5, 0.4, 0.3)[:channels], (0.2, 0.25, 0.3)[:channels]
    return image_dataset(
        x,
        np.arange(n) % 3,
        name=name,
        split="train",
        classes=["a", "b", "c"],
        mean=mean,
        std=std,
        source="memory",
    )


def _events(n=6, steps=3):
    rng = np.random.default_rng(1)
    return ArrayDataset(
        x=rng.integers(0, 5, (n, steps, 2, 34, 34)).astype(np.int16),
        y=np.arange(n) % 2,
        name="nmnist",
        split="train",
        classes=["0", "1"],
        num_classes=2,
        in_channels=2,
        input_size=(34, 34),
        is_events=True,
        mean=None,
        std=None,
        source="memory",
    )


def _batches(loader):
    return [(x.clone(), y.clone()) for x, y in loader]


def test_images_normalised_in_order():
    ds = _images()
    batches = _batches(make_loader(ds, 4, shuffle=False, augment=False))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    x = torch.cat([x for x, _ in batches])
    assert x.dtype == torch.float32 and x.shape == (10, 3, 8, 8) and x.is_contiguous()
    mean = torch.tensor(ds.mean).view(1, 3, 1, 1)
    std = torch.tensor(ds.std).view(1, 3, 1, 1)
    expected = (torch.from_numpy(ds.x).permute(0, 3, 1, 2) / 255 - mean) / std
    torch.testing.assert_close(x, expected)
    assert torch.cat([y for _, y in batches]).tolist() == ds.y.tolist()
    assert batches[0][1].dtype == torch.int64


def test_events_time_first_counts_kept():
    ds = _events()
    loader = make_loader(ds, 4, shuffle=False, augment=False)
    x, y = next(iter(loader))
    assert y.tolist() == [0, 1, 0, 1]
    assert x.shape == (3, 4, 2, 34, 34) and x.dtype == torch.float32 and x.is_contiguous()
    torch.testing.assert_close(x, torch.from_numpy(ds.x[:4]).float().transpose(0, 1))
    assert len(loader) == 2


def test_len_and_drop_last():
    ds = _images(10)
    assert len(make_loader(ds, 4, False, False)) == 3
    loader = make_loader(ds, 4, False, False, drop_last=True)
    assert len(loader) == 2 and [len(y) for _, y in loader] == [4, 4]


@pytest.mark.parametrize("dataset", [_images, _events])
def test_same_seed_and_epoch_same_batches(dataset):
    ds = dataset()
    one = make_loader(ds, 4, shuffle=True, augment=True, seed=3, cutout=4)
    two = make_loader(ds, 4, shuffle=True, augment=True, seed=3, cutout=4)
    one.set_epoch(2)
    two.set_epoch(2)
    for (x1, y1), (x2, y2) in zip(_batches(one), _batches(two), strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(_batches(one), _batches(two), strict=True))


def test_epochs_and_seeds_differ():
    ds = _images(64)
    loader = make_loader(ds, 64, shuffle=True, augment=True, seed=0)
    first = _batches(loader)[0]
    loader.set_epoch(1)
    second = _batches(loader)[0]
    other_seed = _batches(make_loader(ds, 64, shuffle=True, augment=True, seed=1))[0]
    assert not torch.equal(first[1], second[1]) and not torch.equal(first[1], other_seed[1])
    assert sorted(first[1].tolist()) == sorted(second[1].tolist())


def test_rank_shares_disjoint_and_cover():
    ds = _images(12)
    shares = []
    for rank in range(3):
        loader = make_loader(ds, 2, shuffle=True, augment=False, rank=rank, world_size=3)
        loader.set_epoch(5)
        shares.append(loader.indices())
        assert len(loader) == 2
    assert sorted(np.concatenate(shares).tolist()) == list(range(12))


def test_rank_shares_padded_by_wrapping():
    ds = _images(10)
    loaders = [make_loader(ds, 3, True, False, rank=r, world_size=4) for r in range(4)]
    shares = [loader.indices() for loader in loaders]
    assert [len(s) for s in shares] == [3] * 4 and {len(loader) for loader in loaders} == {1}
    order = np.random.default_rng([0, 0]).permutation(10)
    padded = np.concatenate([order, order[:2]])
    assert [s.tolist() for s in shares] == [padded[r::4].tolist() for r in range(4)]


def test_mnist_is_not_augmented():
    ds = _images(8, name="mnist", channels=1)
    plain = _batches(make_loader(ds, 8, True, augment=False))
    augmented = _batches(make_loader(ds, 8, True, augment=True))
    assert torch.equal(plain[0][0], augmented[0][0])


def test_cifar_augmentation_keeps_shape_and_pixels():
    ds = _images(32, size=8)
    x, _ = next(iter(make_loader(ds, 32, False, augment=True)))
    plain, _ = next(iter(make_loader(ds, 32, False, augment=False)))
    assert x.shape == plain.shape and x.dtype == torch.float32
    assert not torch.equal(x, plain)


def test_crop_is_a_shifted_window():
    generator = torch.Generator().manual_seed(0)
    x = torch.arange(1, 1 + 16 * 5 * 5 * 2, dtype=torch.int16).view(16, 5, 5, 2)
    out = random_crop(x, 2, generator)
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = torch.nn.functional.pad(x.permute(0, 3, 1, 2), (2, 2, 2, 2)).permute(0, 2, 3, 1)
    shifts = set()
    for sample, crop in zip(padded, out, strict=True):
        windows = [
            (top, left)
            for top in range(5)
            for left in range(5)
            if torch.equal(sample[top : top + 5, left : left + 5], crop)
        ]
        assert len(windows) == 1
        shifts.add(windows[0])
    assert len(shifts) > 1


def test_flip_mirrors_some_samples():
    generator = torch.Generator().manual_seed(0)
    x = torch.arange(64 * 3 * 4, dtype=torch.uint8).view(64, 3, 4, 1)
    out = random_flip(x, generator)
    assert out.shape == x.shape and out.dtype == torch.uint8
    flipped = [torch.equal(o, s.flip(1)) for o, s in zip(out, x, strict=True)]
    kept = [torch.equal(o, s) for o, s in zip(out, x, strict=True)]
    assert all(f != k for f, k in zip(flipped, kept, strict=True))
    assert 10 < sum(flipped) < 54


def test_cutout_mask():
    keep = cutout_keep_mask(100, 32, 32, 8, torch.Generator().manual_seed(0))
    assert keep.shape == (100, 32, 32) and keep.dtype == torch.bool
    cut = (~keep).sum(dim=(1, 2))
    assert cut.max() == 64 and cut.min() > 0


def test_cutout_zeroes_normalised_pixels():
    ds = _images(16, size=8)
    x, _ = next(iter(make_loader(ds, 16, False, augment=True, cutout=4)))
    assert ((x == 0).all(dim=1).sum(dim=(1, 2)) > 0).all()


def test_bad_arguments():
    ds = _images()
    with pytest.raises(ValueError, match="rank"):
        make_loader(ds, 4, False, False, rank=2, world_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(ds, 0, False, False)
