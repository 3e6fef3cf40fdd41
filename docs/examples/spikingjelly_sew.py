"""A small SpikingJelly 2.0 SEW-ResNet (ADD), trained for a few steps on the CIFAR-10 sample.

What `docs/import.md` walks from training to hardware numbers. ``build()`` is what
``rshw simulate --model docs/examples/spikingjelly_sew.py:build`` calls; running the file trains
it (CPU) and saves the state dict, which ``--ckpt`` reads with ``torch.load(weights_only=True)``:

    PYTHONPATH=$PWD:/tmp/pkgs-i25 .venv/bin/python docs/examples/spikingjelly_sew.py \
        --steps 40 --out /tmp/sj-sew.pth
"""

from __future__ import annotations

import argparse
import sys
import types

import torch
from torch import nn

if "torchvision" not in sys.modules:  # sew_resnet imports it only to download weights
    shim = types.ModuleType("torchvision.models.utils")
    shim.load_state_dict_from_url = torch.hub.load_state_dict_from_url
    sys.modules["torchvision.models.utils"] = shim

from spikingjelly.activation_based import functional, layer, neuron
from spikingjelly.activation_based.model import sew_resnet

T = 4
NEURON = {"spiking_neuron": neuron.LIFNode, "tau": 2.0, "v_reset": 0.0, "detach_reset": True}


def build() -> nn.Module:
    """Conv-BN-LIF stem, max pool, two SEW blocks (ADD), global pool, classifier; multi-step."""
    net = nn.Sequential(
        layer.Conv2d(3, 16, 3, padding=1, bias=False),
        layer.BatchNorm2d(16),
        neuron.LIFNode(tau=2.0, v_reset=0.0, detach_reset=True),
        layer.MaxPool2d(2),
        sew_resnet.BasicBlock(16, 16, cnf="ADD", **NEURON),
        sew_resnet.BasicBlock(
            16,
            32,
            2,
            nn.Sequential(layer.Conv2d(16, 32, 1, stride=2, bias=False), layer.BatchNorm2d(32)),
            cnf="ADD",
            **NEURON,
        ),
        layer.AdaptiveAvgPool2d(1),
        layer.Flatten(),
        layer.Linear(32, 10),
    )
    functional.set_step_mode(net, "m")
    return net


def train(steps: int, out: str, seed: int = 0) -> None:
    from rshw.data import load_dataset, make_loader

    torch.manual_seed(seed)
    net = build()
    data = load_dataset("cifar10-sample", split="train")
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    step = 0
    while step < steps:
        for x, y in make_loader(data, 32, shuffle=True, augment=False, seed=seed + step):
            logits = net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)
            loss = nn.functional.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            functional.reset_net(net)
            step += 1
            if step % 10 == 0:
                accuracy = (logits.argmax(1) == y).float().mean().item()
                print(f"step {step}: loss {loss.item():.3f}, batch accuracy {accuracy:.2f}")
            if step == steps:
                break
    torch.save(net.state_dict(), out)
    print(f"wrote {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--out", default="sj-sew.pth")
    args = parser.parse_args()
    train(args.steps, args.out)
