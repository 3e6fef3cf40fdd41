"""N-MNIST events binned into count frames ``[N, T, 2, 34, 34]`` (int16, indexed [t, p, y, x]).

Each sample's time span [t_first, t_last] is cut into T bins of equal duration; a frame holds how
many events of each polarity each pixel fired in that bin. Counts are not normalised: the first
layer of the network sees them as they are, like the direct-encoded image repeated over T.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rshw.data.dataset import ArrayDataset
from rshw.data.npzfile import find_file, read_arrays
from rshw.errors import DataError, OptionError

FILE_NAMES = ("nmnist_small.npz", "nmnist.npz")
SENSOR_HW = (34, 34)
POLARITIES = 2
EVENT_KEYS = ("x", "y", "p", "t_us", "offsets", "labels")
LAYOUTS = [
    f"{' or '.join(FILE_NAMES)} with keys <split>_{', <split>_'.join(EVENT_KEYS)} "
    "for split train and test (the file or a folder holding it)"
]
SAMPLES_PER_CHUNK = 256
"""Samples binned at once; bounds the int64 scratch array to about 20 MB per time step."""


def find(path: Path) -> Path | None:
    return find_file(path, FILE_NAMES)


def load(source: Path, split: str, timesteps: int) -> ArrayDataset:
    arrays = read_arrays(source, [f"{split}_{key}" for key in EVENT_KEYS])
    ev = {key: arrays[f"{split}_{key}"] for key in EVENT_KEYS}
    try:
        frames = bin_events(ev["x"], ev["y"], ev["p"], ev["t_us"], ev["offsets"], timesteps)
    except ValueError as err:
        raise DataError(f"{source} ({split}): {err}") from None
    return ArrayDataset(
        x=frames,
        y=ev["labels"].astype(np.int64),
        name="nmnist",
        split=split,
        classes=[str(d) for d in range(10)],
        num_classes=10,
        in_channels=POLARITIES,
        input_size=SENSOR_HW,
        is_events=True,
        mean=None,
        std=None,
        source=str(source),
    )


def bin_events(
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    t_us: np.ndarray,
    offsets: np.ndarray,
    timesteps: int,
    sensor_hw: tuple[int, int] = SENSOR_HW,
) -> np.ndarray:
    """Count frames int16 ``[N, T, 2, H, W]`` of N samples whose events are concatenated.

    Sample i owns events ``offsets[i]:offsets[i+1]``. Counts above 32767 (never reached by
    N-MNIST, about 4000 events per sample) are clipped.
    """
    if timesteps < 1:
        raise OptionError(f"timesteps must be at least 1, got {timesteps}")
    height, width = sensor_hw
    offsets = np.asarray(offsets, dtype=np.int64)
    n_events = len(t_us)
    if not (len(x) == len(y) == len(p) == n_events):
        raise ValueError(
            f"x, y, p, t_us differ in length: {len(x)}, {len(y)}, {len(p)}, {n_events}"
        )
    if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != n_events:
        raise ValueError(f"offsets must run from 0 to the number of events ({n_events})")
    if np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must not decrease")
    for key, values, limit in (("x", x, width), ("y", y, height), ("p", p, POLARITIES)):
        if n_events and (values.min() < 0 or values.max() >= limit):
            raise ValueError(f"{key} must lie in 0..{limit - 1}")
    n = len(offsets) - 1
    frames = np.empty((n, timesteps, POLARITIES, height, width), dtype=np.int16)
    for start in range(0, n, SAMPLES_PER_CHUNK):
        stop = min(start + SAMPLES_PER_CHUNK, n)
        lo, hi = offsets[start], offsets[stop]
        frames[start:stop] = _bin_chunk(
            x[lo:hi],
            y[lo:hi],
            p[lo:hi],
            t_us[lo:hi],
            offsets[start : stop + 1] - lo,
            timesteps,
            sensor_hw,
        )
    return frames


def _bin_chunk(x, y, p, t_us, offsets, timesteps, sensor_hw) -> np.ndarray:
    height, width = sensor_hw
    n = len(offsets) - 1
    counts = np.diff(offsets)
    sample = np.repeat(np.arange(n), counts)
    t = t_us.astype(np.int64)
    t_first = np.zeros(n, dtype=np.int64)
    t_last = np.zeros(n, dtype=np.int64)
    has_events = counts > 0
    if has_events.any():
        starts = offsets[:-1][has_events]
        t_first[has_events] = np.minimum.reduceat(t, starts)
        t_last[has_events] = np.maximum.reduceat(t, starts)
    span = np.maximum(t_last - t_first, 1)[sample]
    step = np.minimum((t - t_first[sample]) * timesteps // span, timesteps - 1)
    flat = (sample * timesteps + step) * POLARITIES + p.astype(np.int64)
    flat = (flat * height + y.astype(np.int64)) * width + x.astype(np.int64)
    size = n * timesteps * POLARITIES * height * width
    binned = np.bincount(flat, minlength=size)
    return np.minimum(binned, np.iinfo(np.int16).max).reshape(
        n, timesteps, POLARITIES, height, width
    )
