"""Batches from an in-memory :class:`ArrayDataset`, reproducible from ``(seed, epoch)`` alone.

The shuffle order depends on ``(seed, epoch)`` only, so every rank of a distributed run agrees on
it; batch ``i``'s augmentation depends on ``(seed, epoch, rank, i)``, so a resumed run or a second
loader reproduces the same batches. Distributed shares follow ``DistributedSampler``: the shuffled
indices are padded by wrapping around to a multiple of ``world_size``, then rank ``r`` takes every
``world_size``-th index from ``r``; every rank gets the same number of samples and of batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from rshw.data.augment import NO_AUGMENT, POLICIES, cutout_keep_mask, random_crop, random_flip
from rshw.data.dataset import ArrayDataset
from rshw.errors import DataError, OptionError

Batch = tuple[torch.Tensor, torch.Tensor]


class BatchLoader:
    """Yields ``(x, y)``: images float32 ``[B, C, H, W]`` normalised with the dataset's mean/std,
    events float32 ``[T, B, 2, H, W]`` (counts, time first), labels int64 ``[B]``.

    The next batch is assembled in a background thread while the current one is used.
    """

    def __init__(
        self,
        dataset: ArrayDataset,
        batch_size: int,
        *,
        shuffle: bool,
        augment: bool,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
        cutout: int = 0,
    ) -> None:
        if len(dataset) == 0:
            raise DataError(f"dataset {dataset.name!r} ({dataset.split}) is empty")
        if batch_size < 1:
            raise OptionError(f"batch_size must be at least 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise OptionError(
                f"rank must lie in 0..world_size-1, got rank={rank}, world_size={world_size}"
            )
        if seed < 0 or cutout < 0:
            raise OptionError(f"seed and cutout must not be negative, got {seed} and {cutout}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = augment
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.drop_last = drop_last
        self.cutout = cutout
        self.policy = POLICIES.get(dataset.name, NO_AUGMENT) if augment else NO_AUGMENT
        self.epoch = 0
        self.num_samples = math.ceil(len(dataset) / world_size)
        """Samples this rank sees per epoch (its share, padded)."""
        if not dataset.is_events:
            mean = torch.tensor(dataset.mean, dtype=torch.float32).view(1, -1, 1, 1)
            std = torch.tensor(dataset.std, dtype=torch.float32).view(1, -1, 1, 1)
            self._scale, self._shift = 1 / (255 * std), -mean / std

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose shuffle order and augmentation the next iteration uses."""
        if epoch < 0:
            raise OptionError(f"epoch must not be negative, got {epoch}")
        self.epoch = epoch

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def indices(self) -> np.ndarray:
        """This rank's dataset indices for the current epoch, in the order they are batched."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            order = np.arange(n)
        return np.resize(order, self.num_samples * self.world_size)[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[Batch]:
        indices = self.indices()
        starts = range(0, len(self) * self.batch_size, self.batch_size)
        chunks = [indices[start : start + self.batch_size] for start in starts]
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self.make_batch, chunks[0], 0) if chunks else None
            for number in range(len(chunks)):
                batch = pending.result()
                if number + 1 < len(chunks):
                    pending = pool.submit(self.make_batch, chunks[number + 1], number + 1)
                yield batch

    def make_batch(self, index: np.ndarray, number: int) -> Batch:
        """Batch ``number`` of the epoch, holding samples ``index``: a pure function of both."""
        seed = np.random.SeedSequence([self.seed, self.epoch, self.rank, number])
        generator = torch.Generator().manual_seed(int(seed.generate_state(1, np.uint64)[0]))
        x = torch.from_numpy(self.dataset.x[index])
        y = torch.from_numpy(self.dataset.y[index])
        if self.dataset.is_events:
            x = self._augment(x.permute(0, 3, 4, 1, 2), generator).permute(3, 0, 4, 1, 2)
            x = x.to(torch.float32, memory_format=torch.contiguous_format)
            keep_dims = (1, -1, 1, *x.shape[3:])
        else:
            x = self._augment(x, generator).permute(0, 3, 1, 2)
            x = (
                x.to(torch.float32, memory_format=torch.contiguous_format) * self._scale
                + self._shift
            )
            keep_dims = (-1, 1, *x.shape[2:])
        if self.augment and self.cutout:
            keep = cutout_keep_mask(len(index), *self.dataset.input_size, self.cutout, generator)
            x = x * keep.view(keep_dims)
        return x, y

    def _augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Crop and flip ``[B, H, W, ...]`` as the dataset's policy says."""
        x = random_crop(x, self.policy.crop_padding, generator)
        return random_flip(x, generator) if self.policy.flip else x


def make_loader(
    ds: ArrayDataset,
    batch_size: int,
    shuffle: bool,
    augment: bool,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    drop_last: bool = False,
    *,
    cutout: int = 0,
) -> BatchLoader:
    """A :class:`BatchLoader`; ``augment`` applies the dataset's crop/flip policy and, with
    ``cutout > 0``, a ``cutout × cutout`` zeroed square (after normalisation, so it reads as the
    dataset mean for images and as no events for event frames)."""
    return BatchLoader(
        ds,
        batch_size,
        shuffle=shuffle,
        augment=augment,
        seed=seed,
        rank=rank,
        world_size=world_size,
        drop_last=drop_last,
        cutout=cutout,
    )
