"""ResNet20 as used by the Real Spike paper for CIFAR: a three-conv stem of 64 channels, basic
blocks [2, 2, 2, 2] at 64/128/256/512 (stride 1, 2, 2, 2), global average pool, FC 512→classes."""

from __future__ import annotations

from torch import nn

from rshw.models.blocks import AvgPool, ConvBN, SpikeAct, SpikingNet, make_stage
from rshw.models.registry import register_model


@register_model("resnet20")
class ResNet20(SpikingNet):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        rs, neuron, hw = self.realspike, self.neuron, self.input_hw
        self.encoder = ConvBN(self.in_channels, 64, 3, 1, 1)
        layers: list[nn.Module] = [
            SpikeAct((64, *hw), rs, neuron),
            ConvBN(64, 64, 3, 1, 1),
            SpikeAct((64, *hw), rs, neuron),
            ConvBN(64, 64, 3, 1, 1),
            SpikeAct((64, *hw), rs, neuron),
        ]
        cin = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stage, hw = make_stage(cin, cout, 2, stride, hw, rs, neuron)
            layers.append(stage)
            cin = cout
        self.body = nn.Sequential(*layers, AvgPool(), nn.Linear(512, self.num_classes))
