"""``rshw simulate --model FILE.py:FUNCTION --ckpt WEIGHTS`` and ``--model DESCRIPTION.json``.

``FILE.py:FUNCTION`` builds the framework's module (SpikingJelly or snnTorch must then be
installed); its weights come from ``--ckpt``: a ``.safetensors`` file or a torch file read with
``torch.load(weights_only=True)`` (tensors only, nothing else unpickled). ``NAME.json`` is a
module description written by :func:`rshw.importers.save_description`, with its weights in
``NAME.safetensors`` (or ``--ckpt``): it imports without any framework installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rshw.errors import CheckpointError, OptionError
from rshw.importers.describe import FORMAT, describe, load_description
from rshw.importers.lower import lower


def is_import_spec(model: str) -> bool:
    """Whether ``--model`` names a framework module (``FILE.py:FUNCTION``) or a description."""
    return ".py:" in model or model.endswith(".json")


def _build(spec: str) -> torch.nn.Module:
    file, _, function = spec.rpartition(":")
    path = Path(file)
    if not path.is_file():
        raise OptionError(f"--model {spec}: no file {file}")
    loader = importlib.util.spec_from_file_location(f"rshw_user_model_{path.stem}", path)
    code = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(code)
    build = getattr(code, function, None)
    if not callable(build):
        raise OptionError(f"--model {spec}: {file} defines no function {function!r}")
    module = build()
    if not isinstance(module, torch.nn.Module):
        raise OptionError(
            f"--model {spec}: {function}() returned {type(module).__name__}, not a module"
        )
    return module


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a torch file (``weights_only=True``). Also taken: a
    dict holding it under ``state_dict``/``model``/``net``; DataParallel's ``module.`` prefixes."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"--ckpt {path}: no such file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(path)
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # torch raises many kinds for a refused or damaged pickle
            raise CheckpointError(
                f"--ckpt {path}: not a weights-only torch file ({type(e).__name__}); save the "
                "state_dict (torch.save(net.state_dict(), ...)) or use safetensors"
            ) from None
    for key in ("state_dict", "model", "net"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"--ckpt {path}: holds no state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _described(spec: str, ckpt: str | None) -> tuple[dict, dict[str, np.ndarray], Any]:
    """``(description, state, live module or None)``."""
    if spec.endswith(".json"):
        if not Path(spec).is_file():
            raise OptionError(f"--model {spec}: no such file")
        try:
            description, state = load_description(Path(spec).with_suffix(""))
        except (FileNotFoundError, ValueError) as e:
            raise OptionError(
                f"--model {spec}: {e} (a description is written by "
                f"rshw.importers.save_description, format {FORMAT})"
            ) from None
        if ckpt is not None:
            state = {k: v.double().numpy() for k, v in load_weights(ckpt).items()}
        return description, state, None
    module = _build(spec)
    if ckpt is not None:
        result = module.load_state_dict(load_weights(ckpt), strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise CheckpointError(
                f"--ckpt {ckpt} does not fit {spec}: missing {result.missing_keys[:5]}, "
                f"unexpected {result.unexpected_keys[:5]}"
            )
    module.eval()
    description, state = describe(module)
    return description, state, module


def prepare_imported(
    spec: str,
    ckpt: str | None,
    input_shape: tuple[int, ...],
    timesteps: int,
    dtype: Any,
    sew: str = "split",
):
    """The folded graph of an imported network, as the pipeline's ``Prepared``."""
    from rshw.pipeline.prepare import Prepared

    description, state, module = _described(spec, ckpt)
    graph = lower(description, state, input_shape, timesteps, dtype, sew)
    source = {"import": spec, "checkpoint": ckpt, "fingerprint": import_fingerprint(spec, ckpt)}
    graph.meta["source"] = {**source, "trained": None}
    return Prepared(graph, module, None, source)


def import_fingerprint(spec: str, ckpt: str | None) -> str:
    """SHA-256 of the files an import reads: the cache key's ``weights``."""
    file = spec.rpartition(":")[0] if ".py:" in spec else spec
    paths = [Path(file)]
    if spec.endswith(".json"):
        paths.append(Path(spec).with_suffix(".safetensors"))
    if ckpt is not None:
        paths.append(Path(ckpt))
    h = hashlib.sha256(spec.encode())
    for path in paths:
        h.update(path.read_bytes() if path.is_file() else b"")
    return h.hexdigest()


def verify_imported(module: Any, activity: Any, x: torch.Tensor) -> dict[str, Any]:
    """The framework's own spikes (float64) against the traced IR's, on the traced images."""
    from rshw.importers.framework import run_framework

    if module is None:
        return {"verified": False, "reason": "a module description: no framework module to run"}
    spikes, _ = run_framework(module.double(), x.double(), activity.timesteps)
    module.float()
    differ = {
        n: int((activity.maps(n).swapaxes(0, 1) != s.astype(bool)).sum())
        for n, s in spikes.items()
        if n in activity.edges
    }
    return {
        "verified": sum(differ.values()) == 0,
        "spikes_compared": int(sum(spikes[n].size for n in differ)),
        "spikes_differing": sum(differ.values()),
        "layers_differing": [n for n, d in differ.items() if d],
    }
