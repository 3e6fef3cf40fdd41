"""Real Spike: real-valued spikes ``a ⊙ o`` with a learnable, time-invariant ``a`` (Guo et al.).

``a`` starts at 1 and is the same at every time step, which is what lets re-parameterization fold
it into the next layer's weights exactly. Granularity decides its shape:

- ``none``: no ``a`` (vanilla SNN, identity);
- ``layer``: one scalar;
- ``channel``: one value per channel, ``[C]``;
- ``element``: one value per neuron, ``[C, H, W]`` (or ``[C]`` after a linear layer).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rshw.errors import OptionError

GRANULARITIES = ("none", "layer", "channel", "element")


def check_granularity(granularity: str) -> str:
    if granularity not in GRANULARITIES:
        raise OptionError(
            f"unknown Real Spike granularity {granularity!r}; choose one of {list(GRANULARITIES)}"
        )
    return granularity


class RealSpike(nn.Module):
    """Scale binary spikes ``o`` of shape ``[T, B, *feature_shape]`` by ``a``.

    ``feature_shape`` is ``(C,)`` after a linear layer or ``(C, H, W)`` after a convolution;
    ``channel`` needs ``C`` and ``element`` the whole shape.
    """

    def __init__(self, granularity: str, feature_shape: Sequence[int]) -> None:
        super().__init__()
        self.granularity = check_granularity(granularity)
        self.feature_shape = tuple(int(s) for s in feature_shape)
        if not self.feature_shape or min(self.feature_shape) < 1:
            raise ValueError(f"feature_shape must be (C,) or (C, H, W), got {feature_shape}")
        if granularity == "none":
            self.register_parameter("a", None)
            return
        shape = {
            "layer": (),
            "channel": (self.feature_shape[0],),
            "element": self.feature_shape,
        }[granularity]
        self.a = nn.Parameter(torch.ones(shape))

    def scale(self) -> torch.Tensor | None:
        """``a`` shaped to broadcast over ``[*feature_shape]`` (None for ``none``)."""
        if self.a is None:
            return None
        if self.granularity == "channel":
            return self.a.view(-1, *[1] * (len(self.feature_shape) - 1))
        return self.a

    def forward(self, o: torch.Tensor) -> torch.Tensor:
        if self.a is None:
            return o
        if tuple(o.shape[2:]) != self.feature_shape:
            raise ValueError(
                f"RealSpike expects [T, B, {', '.join(map(str, self.feature_shape))}], "
                f"got {tuple(o.shape)}"
            )
        return o * self.scale()

    def extra_repr(self) -> str:
        return f"granularity={self.granularity!r}, feature_shape={self.feature_shape}"


def realspike_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Every Real Spike ``a`` in ``model``."""
    return [m.a for m in model.modules() if isinstance(m, RealSpike) and m.a is not None]
