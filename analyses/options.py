"""The command-line options the analyses share, spelled once, so ``--ckpt``, ``-T``, ``--images``,
``--out``, ``--dataset`` and ``--data`` mean the same thing in every script.

    p = argparse.ArgumentParser()
    options.add(p, "model", "variants", "dataset", "data", "images", "timesteps", out=None)

Scripts run as modules from the repository root (``python -m analyses.energy``), so they import
``analyses`` as a package without editing ``sys.path``.
"""

from __future__ import annotations

import argparse
from typing import Any


def _images(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a number of images, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expects at least 1 image, got {value}")
    return value


SPEC: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "model": (("--model",), {"default": "resnet19", "help": "zoo model or a .nir file"}),
    "variant": (
        ("--variant",),
        {"default": "channel", "choices": ("none", "layer", "channel", "element")},
    ),
    "variants": (
        ("--variants",),
        {"default": "none,layer,channel,element", "help": "comma list of Real Spike variants"},
    ),
    "ckpt": (
        ("--ckpt",),
        {"default": None, "help": "checkpoint (default: shipped, else untrained)"},
    ),
    "ckpt_dir": (
        ("--ckpt-dir",),
        {
            "default": None,
            "help": "folder with MODEL-DATASET-VARIANT checkpoints (default: shipped)",
        },
    ),
    "dataset": (("--dataset",), {"default": "cifar10-sample"}),
    "data": (("--data",), {"default": None, "help": "dataset folder or file (default: searched)"}),
    "images": (("--images",), {"type": _images, "default": 8, "help": "test images to trace"}),
    "timesteps": (("-T", "--timesteps"), {"type": int, "default": 4, "help": "time steps"}),
    "static_input": (
        ("--static-input",),
        {
            "default": "once",
            "choices": ("once", "every-step"),
            "help": "static-input layers (the stem) computed once or at every step",
        },
    ),
    "gpu_batches": (
        ("--gpu-batches",),
        {"default": "1,64", "help": "GPU batch sizes, one run each (latency and throughput)"},
    ),
    "out": (("--out",), {"default": None, "help": "output folder"}),
    "force": (("--force",), {"action": "store_true", "help": "recompute cached results"}),
}


def add(parser: argparse.ArgumentParser, *names: str, **defaults: Any) -> None:
    """Add the shared options ``names`` (and those given in ``defaults``, with that default)."""
    for name in (*names, *(n for n in defaults if n not in names)):
        if name not in SPEC:
            raise ValueError(f"no shared option {name!r}; known: {', '.join(SPEC)}")
        flags, kwargs = SPEC[name]
        parser.add_argument(
            *flags, **{**kwargs, **({"default": defaults[name]} if name in defaults else {})}
        )
