"""Datasets for training spiking networks, in memory, with reproducible batch loaders.

``load_dataset(name, root, split, timesteps)`` reads CIFAR-10/100 (official pickles, ImageFolder or
a tar archive), MNIST and N-MNIST (events binned into count frames) into an :class:`ArrayDataset`;
``make_loader`` batches it as ``[B, C, H, W]`` images or ``[T, B, 2, H, W]`` event frames.
"""

from rshw.data.dataset import ArrayDataset
from rshw.data.loader import BatchLoader, make_loader
from rshw.data.registry import list_datasets, load_dataset

__all__ = ["ArrayDataset", "BatchLoader", "list_datasets", "load_dataset", "make_loader"]
