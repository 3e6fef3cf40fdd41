"""Where and in what arithmetic a training step runs: the device, bf16 or float32, and the
memory layout and host-to-device copies that go with them."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from rshw.errors import OptionError


def resolve_device(device: str) -> torch.device:
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``, checked against
    this machine now rather than failing deep inside the first step."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise OptionError(
            f"--device {device!r} is not a device; use auto, cpu, cuda or cuda:N"
        ) from None
    if resolved.type not in ("cpu", "cuda"):
        raise OptionError(
            f"--device {device!r}: rshw runs on cpu or cuda; use auto, cpu, cuda or cuda:N"
        )
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise OptionError(
                f"--device {device!r}: this machine has no CUDA device; use --device cpu"
            )
        if resolved.index is not None and resolved.index >= count:
            raise OptionError(
                f"--device {device!r}: this machine has {count} CUDA device(s): "
                f"cuda:0..cuda:{count - 1}"
            )
    return resolved


def bf16_supported(device: torch.device) -> bool:
    """Whether ``device`` runs bf16 arithmetic natively (not emulated): CUDA GPUs with bf16,
    CPUs with AVX-512 BF16 or AMX (what oneDNN checks)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_precision(precision: str, device: torch.device) -> str:
    """``fp32`` or ``bf16`` for this device; ``auto`` takes bf16 where it is native."""
    if precision == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    return precision


def autocast(device: torch.device, precision: str):
    """The training step's autocast context for a resolved ``precision``."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def channels_last(device: torch.device, precision: str) -> bool:
    """Channels-last layout on GPUs and for bf16 on CPUs, where cuDNN's and oneDNN's fast
    convolutions want it; plain float32 on a CPU keeps the default layout."""
    return device.type == "cuda" or precision == "bf16"


def prepare_model(model: nn.Module, device: torch.device, precision: str = "fp32") -> nn.Module:
    """``model`` on ``device``, channels-last where :func:`channels_last` says so."""
    model = model.to(device)
    if channels_last(device, precision):
        model = model.to(memory_format=torch.channels_last)
    return model


def to_device(
    x: torch.Tensor, y: torch.Tensor, device: torch.device, precision: str = "fp32"
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch on ``device``, images channels-last where the model is. On CUDA it is copied
    from pinned memory: a copy from pageable memory would wait for the GPU to finish its
    queue."""
    if device.type != "cuda":
        x, y = x.to(device), y.to(device)
    else:
        x = x.pin_memory().to(device, non_blocking=True)
        y = y.pin_memory().to(device, non_blocking=True)
    if x.dim() == 4 and channels_last(device, precision):
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y
