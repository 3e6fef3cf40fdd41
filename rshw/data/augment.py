"""Batch-wise augmentation on tensors: one random draw per sample, no per-sample Python loop.

Crop and flip act on tensors laid out ``[B, H, W, ...]`` (images ``[B, H, W, C]``, event frames
permuted to ``[B, H, W, T, 2]``), so one function serves both. Zero padding means black pixels
for images (crop runs before normalisation, as torchvision's ``RandomCrop(32, padding=4)``) and
no events for event frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AugmentPolicy:
    crop_padding: int
    flip: bool


NO_AUGMENT = AugmentPolicy(crop_padding=0, flip=False)
POLICIES = {
    "cifar10": AugmentPolicy(crop_padding=4, flip=True),
    "cifar10-sample": AugmentPolicy(crop_padding=4, flip=True),
    "cifar100": AugmentPolicy(crop_padding=4, flip=True),
    "mnist": NO_AUGMENT,
    "nmnist": AugmentPolicy(crop_padding=4, flip=False),
}
"""Per-dataset augmentation with ``augment=True``. Digits are never flipped (a flipped 2 is not a
2); MNIST is not augmented by default."""


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad dims 1 and 2 of ``[B, H, W, ...]`` by ``padding`` and crop back to ``H × W``."""
    if padding == 0:
        return x
    batch, height, width = x.shape[:3]
    padded = x.new_zeros((batch, height + 2 * padding, width + 2 * padding, *x.shape[3:]))
    padded[:, padding : padding + height, padding : padding + width] = x
    top = torch.randint(0, 2 * padding + 1, (batch, 1), generator=generator)
    left = torch.randint(0, 2 * padding + 1, (batch, 1), generator=generator)
    rows = (top + torch.arange(height))[:, :, None]
    cols = (left + torch.arange(width))[:, None, :]
    return padded[torch.arange(batch)[:, None, None], rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror the W axis (dim 2) of ``[B, H, W, ...]`` for a random half of the samples."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip.view(-1, *[1] * (x.ndim - 1)), x.flip(2), x)


def cutout_keep_mask(
    batch: int, height: int, width: int, size: int, generator: torch.Generator
) -> torch.Tensor:
    """Bool ``[B, H, W]``: False inside one ``size × size`` square per sample (DeVries & Taylor).

    The square's centre is uniform over the image, so it may stick out of the border.
    """
    centre_y = torch.randint(0, height, (batch, 1), generator=generator)
    centre_x = torch.randint(0, width, (batch, 1), generator=generator)
    ys = torch.arange(height) - (centre_y - size // 2)
    xs = torch.arange(width) - (centre_x - size // 2)
    inside_y = (ys >= 0) & (ys < size)
    inside_x = (xs >= 0) & (xs < size)
    return ~(inside_y[:, :, None] & inside_x[:, None, :])
