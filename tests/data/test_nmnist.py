"""N-MNIST event binning: hand-built events with known bins, and the real subset."""

import time

import numpy as np
import pytest

from rshw.data import load_dataset
from rshw.data.nmnist import bin_events

TRAIN_COUNTS = [97, 116, 99, 93, 105, 92, 94, 117, 87, 100]


def _events():
    """Sample 0: five events 100 µs apart; sample 1: none; sample 2: one event."""
    x = np.array([0, 1, 2, 3, 4, 33], np.uint8)
    y = np.array([5, 5, 5, 5, 5, 0], np.uint8)
    p = np.array([0, 1, 0, 1, 1, 0], np.uint8)
    t = np.array([100, 200, 300, 400, 500, 7], np.uint32)
    offsets = np.array([0, 5, 5, 6], np.int64)
    return x, y, p, t, offsets


def test_known_bins():
    x, y, p, t, offsets = _events()
    frames = bin_events(x, y, p, t, offsets, timesteps=4)
    assert frames.shape == (3, 4, 2, 34, 34) and frames.dtype == np.int16
    # span 100..500 in four 100 µs bins; the last event (t_last) closes the last bin
    expected = np.zeros((4, 2, 34, 34), np.int16)
    for step, pol, col in [(0, 0, 0), (1, 1, 1), (2, 0, 2), (3, 1, 3), (3, 1, 4)]:
        expected[step, pol, 5, col] = 1
    np.testing.assert_array_equal(frames[0], expected)
    assert not frames[1].any()
    assert frames[2, 0, 0, 0, 33] == 1 and frames[2].sum() == 1


def test_counts_accumulate_and_one_step():
    x, y, p, t = (np.zeros(3, np.uint8),) * 3 + (np.array([0, 10, 20], np.uint32),)
    frames = bin_events(x, y, p, t, np.array([0, 3]), timesteps=1)
    assert frames.shape == (1, 1, 2, 34, 34) and frames[0, 0, 0, 0, 0] == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [({"x": 34}, "x must lie"), ({"p": 2}, "p must lie"), ({"offsets": [0, 5, 4, 6]}, "decrease")],
)
def test_bad_events(change, message):
    x, y, p, t, offsets = _events()
    arrays = {"x": x.copy(), "p": p.copy(), "offsets": offsets}
    for key, value in change.items():
        if key == "offsets":
            arrays[key] = np.array(value)
        else:
            arrays[key][0] = value
    with pytest.raises(ValueError, match=message):
        bin_events(arrays["x"], y, arrays["p"], t, arrays["offsets"], timesteps=4)


def test_npz_file_and_missing_key(tmp_path):
    x, y, p, t, offsets = _events()
    split = {"x": x, "y": y, "p": p, "t_us": t, "offsets": offsets, "labels": np.array([1, 2, 3])}
    arrays = {f"{s}_{k}": v for s in ("train", "test") for k, v in split.items()}
    np.savez(tmp_path / "nmnist_small.npz", **arrays)
    ds = load_dataset("nmnist", root=tmp_path, split="test", timesteps=2)
    assert ds.x.shape == (3, 2, 2, 34, 34) and ds.y.tolist() == [1, 2, 3]
    assert ds.is_events and ds.mean is None and (ds.in_channels, ds.input_size) == (2, (34, 34))
    del arrays["test_offsets"]
    np.savez(tmp_path / "nmnist_small.npz", **arrays)
    with pytest.raises(ValueError, match="test_offsets"):
        load_dataset("nmnist", root=tmp_path / "nmnist_small.npz", split="test")


def test_real_nmnist(shared_data):
    folder = shared_data("nmnist_small")
    start = time.perf_counter()
    ds = load_dataset("nmnist", root=folder, split="train", timesteps=4)
    assert time.perf_counter() - start < 5
    assert ds.x.shape == (1000, 4, 2, 34, 34) and ds.x.dtype == np.int16
    assert np.bincount(ds.y).tolist() == TRAIN_COUNTS
    with np.load(folder / "nmnist_small.npz") as npz:
        events_per_sample = np.diff(npz["train_offsets"])
    np.testing.assert_array_equal(ds.x.reshape(1000, -1).sum(1), events_per_sample)
    assert (ds.x.sum(axis=(0, 2, 3, 4)) > 0).all()
