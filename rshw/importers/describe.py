"""A torch module as data: its tree of class names and plain attributes, plus its state dict.

The importer reads only this description, never the framework's classes, so a SpikingJelly or
snnTorch network imports without either framework installed: :func:`describe` turns a live module
into the description (one code path: a live module is first described, then imported), and
:func:`save_description` / :func:`load_description` keep it as a small JSON file beside the
weights (safetensors), which is how the tests' fixtures travel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "rshw-module-description"
FORMAT_VERSION = 1

ATTRS = (
    # torch layers
    "stride",
    "padding",
    "dilation",
    "groups",
    "padding_mode",
    "kernel_size",
    "ceil_mode",
    "count_include_pad",
    "divisor_override",
    "output_size",
    "start_dim",
    "end_dim",
    "eps",
    "affine",
    "track_running_stats",
    "in_features",
    "out_features",
    "in_channels",
    "out_channels",
    "return_indices",
    # SpikingJelly neurons and blocks
    "tau",
    "decay_input",
    "v_threshold",
    "v_reset",
    "detach_reset",
    "step_mode",
    "cnf",
    # snnTorch neurons
    "reset_mechanism",
    "reset_delay",
    "init_hidden",
    "output",
    "inhibition",
    "state_quant",
)
"""Attributes recorded when a module has them and their value is plain data (numbers, strings,
booleans, None and tuples of those); tensors travel in the state dict instead."""


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)) and all(
        v is None or isinstance(v, (bool, int, float, str)) for v in value
    ):
        return list(value)
    return "<object>"  # e.g. snnTorch's state_quant function: present, but not plain data


def describe_module(module: Any) -> dict[str, Any]:
    """The tree of ``{"class", "attrs", "children"}`` of a torch module (duck-typed)."""
    attrs = {}
    for key in ATTRS:
        if hasattr(type(module), key) or key in vars(module):
            try:
                value = getattr(module, key)
            except (AttributeError, RuntimeError):
                continue
            if not hasattr(value, "shape") or key == "state_quant":
                attrs[key] = _plain(value)
    children = [[name, describe_module(child)] for name, child in module.named_children()]
    return {"class": type(module).__name__, "attrs": attrs, "children": children}


def describe(module: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(description, state)``: the module tree and its state dict as float64 numpy arrays."""
    state = {k: v.detach().cpu().double().numpy() for k, v in module.state_dict().items()}
    return describe_module(module), state


def save_description(
    description: dict[str, Any], state: dict[str, np.ndarray], stem: str | Path
) -> tuple[Path, Path]:
    """``STEM.json`` (the tree) and ``STEM.safetensors`` (the state, float32 as trained)."""
    from safetensors.numpy import save_file

    stem = Path(stem)
    json_path, weights_path = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "module": description}
    json_path.write_text(json.dumps(header, indent=1) + "\n")
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in state.items()}, weights_path)
    return json_path, weights_path


def load_description(stem: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read what :func:`save_description` wrote; arrays come back as float64."""
    from safetensors.numpy import load_file

    stem = Path(stem)
    json_path, weights_path = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    for path in (json_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(f"no module description at {path}")
    header = json.loads(json_path.read_text())
    if header.get("format") != FORMAT or header.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{json_path} is not an rshw module description (version {FORMAT_VERSION})"
        )
    state = {k: v.astype(np.float64) for k, v in load_file(weights_path).items()}
    return header["module"], state
