"""State dicts of the original SEW-ResNet code (Fang et al., NeurIPS 2021, the base the Real
Spike authors patched) → SpikingJelly 2.0's ``sew_resnet`` key names.

The original ``imagenet/sew_resnet.py`` (github.com/fangwei123456/Spike-Element-Wise-ResNet)
wraps each conv and its BatchNorm in ``layer.SeqToANNContainer`` and puts the downsample's
neuron inside ``downsample``; SpikingJelly 2.0's ``sew_resnet.BasicBlock`` names them apart:

==========================================  ==========================================
original key                                SpikingJelly 2.0 key
==========================================  ==========================================
``layerL.B.conv1.0.weight``                 ``layerL.B.conv1.weight``
``layerL.B.conv1.1.{weight,bias,running_*}`` ``layerL.B.bn1.{...}``
``layerL.B.conv2.0.weight``                 ``layerL.B.conv2.weight``
``layerL.B.conv2.1.*``                      ``layerL.B.bn2.*``
``layerL.0.downsample.0.0.weight``          ``layerL.0.downsample.0.weight``
``layerL.0.downsample.0.1.*``               ``layerL.0.downsample.1.*``
``conv1.*``, ``bn1.*``, ``fc.*``            unchanged
==========================================  ==========================================

Any other key (a Real Spike ``a``, whose names the authors' patch sets) is refused by name.

    python -m rshw.importers.sew_checkpoint ORIGINAL.pth OUT.safetensors
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import torch

from rshw.errors import CheckpointError

RULES = (
    (re.compile(r"^(layer\d+\.\d+)\.conv([12])\.0\.weight$"), r"\1.conv\2.weight"),
    (re.compile(r"^(layer\d+\.\d+)\.conv([12])\.1\.(\w+)$"), r"\1.bn\2.\3"),
    (re.compile(r"^(layer\d+\.0)\.downsample\.0\.0\.weight$"), r"\1.downsample.0.weight"),
    (re.compile(r"^(layer\d+\.0)\.downsample\.0\.1\.(\w+)$"), r"\1.downsample.1.\2"),
    (re.compile(r"^((conv1|bn1|fc)\.\w+)$"), r"\1"),
)


def remap_sew_resnet(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The original SEW-ResNet18/34 keys renamed for SpikingJelly 2.0's ``sew_resnet``."""
    out, unknown = {}, []
    for key, value in state.items():
        for pattern, target in RULES:
            if pattern.match(key):
                out[pattern.sub(target, key)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(
            f"{len(unknown)} key(s) have no SEW-ResNet mapping, e.g. {unknown[:4]}: rename them "
            "to SpikingJelly 2.0 module paths (see docs/import.md)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    from safetensors.torch import save_file

    from rshw.importers.entry import load_weights

    source, target = argv if argv is not None else sys.argv[1:]
    state = remap_sew_resnet(load_weights(source))
    save_file({k: v.contiguous() for k, v in state.items()}, Path(target))
    print(f"wrote {target}: {len(state)} tensors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
