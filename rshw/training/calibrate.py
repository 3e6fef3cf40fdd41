"""BatchNorm calibration: running statistics of an untrained model set from real data.

Random weights with default BN statistics (mean 0, variance 1) give degenerate spike activity;
calibrating the statistics on a few hundred real images makes an untrained network's activity
plausible enough to exercise hardware models. Results from such a model are labelled untrained.
"""

from __future__ import annotations

import torch
from torch import nn

from rshw.data import ArrayDataset, make_loader


@torch.no_grad()
def calibrate_batchnorm(
    model: nn.Module, dataset: ArrayDataset, samples: int = 256, batch_size: int = 64, seed: int = 0
) -> nn.Module:
    """Set every BN layer's running mean and variance to their average over ``samples`` images."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average
    model.train()
    loader = make_loader(dataset, batch_size, shuffle=True, augment=False, seed=seed)
    seen = 0
    for x, _ in loader:
        model(x)
        seen += x.shape[1] if dataset.is_events else x.shape[0]
        if seen >= samples:
            break
    for bn, momentum in zip(bns, momenta, strict=True):
        bn.momentum = momentum
    return model.eval()


@torch.no_grad()
def randomize_for_checks(model: nn.Module, seed: int = 0, samples: int = 4) -> nn.Module:
    """Random ``a ∈ [0.5, 1.5]`` and random BN statistics that keep firing rates moderate.

    For equivalence checks (folding, NIR, Brian2): BN statistics are first calibrated on random
    inputs, then perturbed, so that spikes are neither absent nor everywhere.
    """
    from rshw.training.realspike import realspike_parameters

    g = torch.Generator().manual_seed(seed)
    for a in realspike_parameters(model):
        a.copy_(torch.rand(a.shape, generator=g) + 0.5)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    model(torch.randn(samples, model.in_channels, *model.input_hw, generator=g))
    for bn in bns:
        bn.weight.copy_(torch.rand(bn.weight.shape, generator=g) * 0.6 + 0.3)
        bn.bias.copy_(torch.rand(bn.bias.shape, generator=g) * 0.5 - 0.1)
        bn.running_mean.add_(torch.randn(bn.running_mean.shape, generator=g) * 0.05)
        bn.running_var.mul_(torch.rand(bn.running_var.shape, generator=g) * 0.4 + 0.8)
        bn.momentum = 0.1
    return model.eval()
