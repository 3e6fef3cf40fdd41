"""A small spiking CNN that trains on a laptop CPU: MNIST (28×28) or N-MNIST (34×34, 2 polarities).

conv 32 → pool → conv 64 → pool → conv 128 → pool → FC. Every conv is conv + BN + LIF; every pool
is a 2×2 max-pool of the binary spikes, followed by Real Spike scaling. Pooling after the first conv
keeps one MNIST epoch at T=4 near 2 minutes on two CPU cores.
"""

from __future__ import annotations

from torch import nn

from rshw.errors import OptionError
from rshw.models.blocks import ConvBN, Flatten, SpikeAct, SpikingNet
from rshw.models.registry import register_model


@register_model("scnn", in_channels=1, input_size=28)
class SCNN(SpikingNet):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        rs, neuron, (h, w) = self.realspike, self.neuron, self.input_hw
        if h < 8 or w < 8:
            raise OptionError(
                f"scnn pools three times by 2 and needs inputs of at least 8×8, got {h}×{w}"
            )
        self.encoder = ConvBN(self.in_channels, 32, 3, 1, 1)
        layers: list[nn.Module] = []
        cin = None
        for cout in (32, 64, 128):
            if cin is not None:
                layers.append(ConvBN(cin, cout, 3, 1, 1))
            h, w = h // 2, w // 2
            layers.append(SpikeAct((cout, h, w), rs, neuron, maxpool=(2, 2, 0)))
            cin = cout
        self.body = nn.Sequential(*layers, Flatten(), nn.Linear(128 * h * w, self.num_classes))
