"""VGG16 (configuration D) with average pooling and one Linear 512→classes.

Each conv is conv + BN + LIF + Real Spike; each 'M' of the configuration is a 2×2 average pool
of the scaled spikes. A global average pool before the classifier accepts any input size.
"""

from __future__ import annotations

from torch import nn

from rshw.errors import OptionError
from rshw.models.blocks import AvgPool, ConvBN, SpikeAct, SpikingNet
from rshw.models.registry import register_model

CFG_D = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


@register_model("vgg16")
class VGG16(SpikingNet):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        rs, neuron, (h, w) = self.realspike, self.neuron, self.input_hw
        if h < 32 or w < 32:
            raise OptionError(
                f"vgg16 pools five times by 2 and needs inputs of at least 32×32, got {h}×{w}"
            )
        self.encoder = ConvBN(self.in_channels, CFG_D[0], 3, 1, 1)
        layers: list[nn.Module] = [SpikeAct((CFG_D[0], h, w), rs, neuron)]
        cin = CFG_D[0]
        for item in CFG_D[1:]:
            if item == "M":
                layers.append(AvgPool(2))
                h, w = h // 2, w // 2
            else:
                layers += [ConvBN(cin, item, 3, 1, 1), SpikeAct((item, h, w), rs, neuron)]
                cin = item
        self.body = nn.Sequential(*layers, AvgPool(), nn.Linear(512, self.num_classes))
