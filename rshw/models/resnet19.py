"""ResNet19 for CIFAR (tdBN, Zheng et al. 2021; the Real Spike paper's main model).

Stem 3→128; basic blocks [3, 3, 2] at 128/256/512 (stride 1, 2, 2); global average pool;
FC 512→256, LIF, FC 256→classes. About 12.7 M parameters.
"""

from __future__ import annotations

from torch import nn

from rshw.models.blocks import AvgPool, ConvBN, SpikeAct, SpikingNet, make_stage
from rshw.models.registry import register_model


@register_model("resnet19")
class ResNet19(SpikingNet):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        rs, neuron, hw = self.realspike, self.neuron, self.input_hw
        self.encoder = ConvBN(self.in_channels, 128, 3, 1, 1)
        layers: list[nn.Module] = [SpikeAct((128, *hw), rs, neuron)]
        cin = 128
        for cout, blocks, stride in ((128, 3, 1), (256, 3, 2), (512, 2, 2)):
            stage, hw = make_stage(cin, cout, blocks, stride, hw, rs, neuron)
            layers.append(stage)
            cin = cout
        self.body = nn.Sequential(
            *layers,
            AvgPool(),
            nn.Linear(512, 256),
            SpikeAct((256,), rs, neuron),
            nn.Linear(256, self.num_classes),
        )
