"""Run a live SpikingJelly or snnTorch module the way its framework does, recording its spikes.

Used to prove an import exact (the framework's spikes at every spiking module and step against
the IR's) and to write the fixtures that let the tests do the same without the frameworks. Duck
typed like the importer: multi-step SpikingJelly modules (``step_mode == "m"``) take the whole
``[T, N, ...]`` sequence; everything else is called once per step with the static input.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from rshw.importers.lower import NEURONS

SPIKING_BLOCKS = ("AND", "IAND")  # SEW connect functions whose output is spikes


def reset_states(module: torch.nn.Module) -> None:
    """Every neuron back at rest: snnTorch's ``reset_hidden``, SpikingJelly's ``reset``."""
    for m in module.modules():
        if hasattr(m, "reset_hidden"):
            m.reset_hidden()
        elif hasattr(m, "_memories") and hasattr(m, "reset"):
            m.reset()


def spiking_modules(module: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """Neurons by path, and SEW AND/IAND blocks as ``PATH.and`` / ``PATH.iand``: the names the
    importer gives the IR's LIF nodes."""
    found = {k: m for k, m in module.named_modules() if type(m).__name__ in NEURONS}
    for k, m in module.named_modules():
        if getattr(m, "cnf", None) in SPIKING_BLOCKS:
            found[f"{k}.{m.cnf.lower()}"] = m
    return found


@contextlib.contextmanager
def _recording(module: torch.nn.Module) -> Iterator[dict[str, list[torch.Tensor]]]:
    recorded: dict[str, list[torch.Tensor]] = {}

    def hook(name: str):
        def record(m: Any, inputs: tuple, output: Any) -> Any:
            spikes = output[0] if isinstance(output, tuple) else output
            recorded.setdefault(name, []).append(spikes.detach().clone())
            if type(m).__name__ in NEURONS and spikes.dtype != inputs[0].dtype:
                # snnTorch's Heaviside returns float32 spikes; exact 0/1, so cast to the run's
                # dtype, or a float64 run stops at the next layer
                return spikes.to(inputs[0].dtype)
            return None

        return record

    handles = [m.register_forward_hook(hook(k)) for k, m in spiking_modules(module).items()]
    try:
        yield recorded
    finally:
        for h in handles:
            h.remove()


def run_framework(
    module: torch.nn.Module, x: torch.Tensor, timesteps: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Spikes ``[T, N, ...]`` (uint8) of every spiking module and the time-averaged output of
    ``module`` on the static input ``x`` (``[N, ...]``) repeated over ``timesteps``, in the
    module's current mode (eval for a comparison: BatchNorm's running statistics)."""
    multi_step = any(getattr(m, "step_mode", "s") == "m" for m in module.modules())
    reset_states(module)
    with _recording(module) as recorded, torch.no_grad():
        if multi_step:
            out = module(x.unsqueeze(0).expand(timesteps, *x.shape).contiguous()).mean(0)
        else:
            out = torch.stack([module(x) for _ in range(timesteps)]).mean(0)
    reset_states(module)
    spikes = {}
    for name, outs in recorded.items():  # multi-step: one [T, N, ...]; else T of [N, ...]
        seq = outs[0] if multi_step and len(outs) == 1 else torch.stack(outs)
        if not set(np.unique(seq.numpy()).tolist()) <= {0.0, 1.0}:
            raise ValueError(f"{name}: its outputs are not binary spikes")
        spikes[name] = seq.numpy().astype(np.uint8)
    return spikes, out.numpy()
