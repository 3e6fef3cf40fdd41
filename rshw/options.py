"""The command-line options ``rshw`` and the analyses share, spelled once, so ``--model``,
``--ckpt``, ``-T``, ``--images``, ``--hw-option``, ``--out``, ``--force`` ... mean and parse the
same in every command and script.

    p = argparse.ArgumentParser()
    options.add(p, "model", "variants", "dataset", "data", "images", "timesteps", out=None)

A hardware run option (``--hw-option gpu.batch=64``) is declared by the hardware package
(``OPTIONS``), not here: a new option of a model needs no line in this module.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from rshw.errors import OptionError
from rshw.training.realspike import GRANULARITIES


def images(text: str) -> int | str:
    """A number of images or ``auto`` (its range is the plan's to check, with the others)."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expects a number of images or 'auto', got {text!r}"
        ) from None
    return value


def parse_value(text: str) -> Any:
    """A JSON value (number, bool, list ...), else the text itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def key_values(pairs: Sequence[str], flag: str = "--model-option") -> dict[str, Any]:
    """``["tau=0.5"]`` -> ``{"tau": 0.5}``."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise OptionError(f"{flag} expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key] = parse_value(value)
    return out


def hw_options(pairs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``["gpu.batch=64", "cim.mode=dense,event"]`` → ``{"gpu": {"batch": 64}, "cim": {"mode":
    ["dense", "event"]}}`` (a comma list: one run per value)."""
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        target, _, value = pair.partition("=")
        hw, _, key = target.partition(".")
        if not (hw and key and value):
            raise OptionError(f"--hw-option expects HW.KEY=VALUE, got {pair!r}")
        values = [parse_value(v) for v in value.split(",")]
        out.setdefault(hw, {})[key] = values if len(values) > 1 else values[0]
    return out


def hardware_list(text: str) -> tuple[str, ...]:
    """``"analytic,cim"`` -> ``("analytic", "cim")``."""
    return tuple(h.strip() for h in text.split(",") if h.strip())


SPEC: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "model": (("--model",), {"default": "resnet19", "help": "zoo model or a .nir file"}),
    "variant": (("--variant",), {"default": "channel", "choices": GRANULARITIES}),
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
    "dt": (
        ("--dt",),
        {
            "type": float,
            "default": None,
            "help": "seconds per time step of a .nir model (default: the dt the file records, "
            "else 1e-4, snnTorch's and SpikingJelly's export step; Norse files need 1e-3)",
        },
    ),
    "sew": (
        ("--sew",),
        {
            "default": None,
            "choices": ("split", "multilevel"),
            "help": "an imported SEW ADD sum (0/1/2 spikes) feeds a layer as binary maps, each "
            "with its own kernel copy (split, the default), or as one multi-level input (MACs); "
            "imported modules only, see docs/import.md",
        },
    ),
    "dataset": (("--dataset",), {"default": "cifar10-sample"}),
    "data": (("--data",), {"default": None, "help": "dataset folder or file (default: searched)"}),
    "images": (
        ("--images",),
        {
            "type": images,
            "default": 8,
            "help": "test images to trace and simulate, or 'auto': double them until every "
            "model's energy CI half-width is within --ci-target of its mean, or --images-cap",
        },
    ),
    "ci_target": (
        ("--ci-target",),
        {"type": float, "default": 0.01, "help": "for --images auto (0.01 = 1%%)"},
    ),
    "images_cap": (("--images-cap",), {"type": int, "default": 256, "help": "for --images auto"}),
    "timesteps": (("-T", "--timesteps"), {"type": int, "default": 4, "help": "time steps"}),
    "seed": (("--seed",), {"type": int, "default": 0, "help": "stand-in weights, image draw"}),
    "static_input": (
        ("--static-input",),
        {
            "default": "once",
            "choices": ("once", "every-step"),
            "help": "a layer whose input is the same at every step (the stem) is computed once, "
            "or at every step; recorded in the graph, applied by every hardware model",
        },
    ),
    "hw_option": (
        ("--hw-option",),
        {
            "action": "append",
            "default": [],
            "metavar": "HW.KEY=VALUE",
            "help": "a preset override or run option, e.g. gpu.batch=64, cim.duplication=4; "
            "a comma list runs once per value (default gpu.batch=1,64) (repeatable)",
        },
    ),
    "gpu_batches": (
        ("--gpu-batches",),
        {"default": "1,64", "help": "GPU batch sizes, one run each (latency and throughput)"},
    ),
    "basis": (
        ("--basis",),
        {
            "choices": ("native", "common"),
            "default": "native",
            "help": "native: each model as built; common: one weight precision, node, weight "
            "policy and static rule on every model (simulators/basis.py, docs/energy.md)",
        },
    ),
    "out": (("--out",), {"default": None, "help": "output folder"}),
    "force": (
        ("--force",),
        {"action": "store_true", "help": "recompute every cached stage (fold, trace, ...)"},
    ),
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


REQUEST_FIELDS = ("model", "dataset", "data", "images", "timesteps", "seed", "force")
REQUEST_FIELDS += ("static_input", "basis")
"""Shared options that an analysis's parsed arguments pass on to each variant's simulate request
(those the analysis declares; the others keep the request's defaults)."""


def simulate_request(args: argparse.Namespace, variant: str, **given: Any):
    """The :class:`~rshw.pipeline.plan.SimulateOptions` of one Real Spike variant from an
    analysis's parsed shared options, with ``given`` fields (a checkpoint, the hardware) added."""
    from rshw.pipeline.plan import SimulateOptions

    shared = {name: getattr(args, name) for name in REQUEST_FIELDS if hasattr(args, name)}
    return SimulateOptions(**shared, variant=variant, **given)
