"""ResNet18 and ResNet34 with the ImageNet stem: 7×7/2 conv of 64, LIF, 3×3/2 max-pool; basic
blocks [2, 2, 2, 2] or [3, 4, 6, 3] at 64/128/256/512; global average pool; FC 512→classes.

The max-pool acts on binary spikes (an OR), and Real Spike scales its output, so every consumer
still receives ``a ⊙ o`` with binary ``o`` at any granularity.
"""

from __future__ import annotations

from torch import nn

from rshw.models.blocks import AvgPool, ConvBN, SpikeAct, SpikingNet, conv_out, make_stage
from rshw.models.registry import register_model


class ImageNetResNet(SpikingNet):
    stage_blocks: tuple[int, int, int, int]

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        rs, neuron = self.realspike, self.neuron
        self.encoder = ConvBN(self.in_channels, 64, 7, 2, 3)
        hw = conv_out(conv_out(self.input_hw, 7, 2, 3), 3, 2, 1)
        layers: list[nn.Module] = [SpikeAct((64, *hw), rs, neuron, maxpool=(3, 2, 1))]
        cin = 64
        for cout, blocks, stride in zip(
            (64, 128, 256, 512), self.stage_blocks, (1, 2, 2, 2), strict=True
        ):
            stage, hw = make_stage(cin, cout, blocks, stride, hw, rs, neuron)
            layers.append(stage)
            cin = cout
        self.body = nn.Sequential(*layers, AvgPool(), nn.Linear(512, self.num_classes))


@register_model("resnet18", num_classes=1000, input_size=224)
class ResNet18(ImageNetResNet):
    stage_blocks = (2, 2, 2, 2)


@register_model("resnet34", num_classes=1000, input_size=224)
class ResNet34(ImageNetResNet):
    stage_blocks = (3, 4, 6, 3)
