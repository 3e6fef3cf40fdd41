"""Checkpoints: weights as ``.safetensors``, metadata as JSON beside them. Never pickle.

A checkpoint ``STEM`` is ``STEM.safetensors`` (model state) + ``STEM.json`` (metadata: model
name and keywords, dataset, epoch, accuracy, seed, git revision, date, and the SHA-256 of the
weights file).
Training state for resuming (optimizer tensors, RNG) goes to ``STEM.train.safetensors``, its
non-tensor part into the JSON. Files are written atomically; the JSON is written last, so a
checkpoint whose JSON exists is complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from rshw.errors import CheckpointError
from simulators.files import atomic_path, atomic_write_bytes

FORMAT = "rshw-checkpoint"
FORMAT_VERSION = 1


def checkpoint_stem(path: str | Path) -> Path:
    """``run/last``, ``run/last.json`` and ``run/last.safetensors`` all name ``run/last``."""
    path = Path(path)
    for suffix in (".train.safetensors", ".safetensors", ".json"):
        if path.name.endswith(suffix):
            return path.with_name(path.name[: -len(suffix)])
    return path


def exists(path: str | Path) -> bool:
    return checkpoint_stem(path).with_suffix(".json").is_file()


def _atomic_save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_revision() -> str | None:
    """The repository's commit (with ``-dirty`` for local changes), or None outside a checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return rev.stdout.strip() + ("-dirty" if dirty else "")


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors, scalars = {}, {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    metadata: dict[str, Any],
    optimizer: torch.optim.Optimizer | None = None,
    half: bool = False,
) -> Path:
    """Write ``model`` (and, for resuming, ``optimizer`` and the RNG) to checkpoint ``path``.

    ``metadata`` is stored as given, with the model config, format, date and git revision added.
    ``half`` stores floating-point weights as fp16 (for shipping; loading casts back).
    """
    stem = checkpoint_stem(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    weights = stem.with_suffix(".safetensors")
    _atomic_save_tensors(state, weights)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": getattr(model, "config", {"name": type(model).__name__}),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "torch_version": torch.__version__,
        "weights_dtype": "float16" if half else "as-trained",
        **metadata,
        "weights_sha256": _sha256(weights),
    }
    if optimizer is not None:
        tensors, optim_meta = _flatten_optimizer(optimizer.state_dict())
        tensors["rng.torch"] = torch.get_rng_state()
        train_file = stem.with_name(stem.name + ".train.safetensors")
        _atomic_save_tensors(tensors, train_file)
        meta["train_state"] = {**optim_meta, "sha256": _sha256(train_file)}
    atomic_write_bytes(stem.with_suffix(".json"), json.dumps(meta, indent=2).encode())
    return stem


PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".tar")
"""What ``torch.save`` files are usually called: pickles, which can run code when loaded."""

REQUIRED_MODEL_KEYS = ("name", "realspike", "timesteps")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint, checked for format, version and the keys every reader
    needs (the one place they are checked, so no command meets a bare ``KeyError`` later)."""
    if Path(path).suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(
            f"{path} looks like a torch.save pickle; rshw never loads pickles (they can run code). "
            "Convert it once in a session you trust: see docs/errors.md, 'A .pt checkpoint'"
        )
    json_path = checkpoint_stem(path).with_suffix(".json")
    if not json_path.is_file():
        raise CheckpointError(
            f"no checkpoint at {checkpoint_stem(path)}: {json_path} does not exist "
            "(a checkpoint is STEM.safetensors + STEM.json)"
        )
    try:
        meta = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{json_path} is not valid JSON: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f'{json_path} is not an rshw checkpoint (no "format": "{FORMAT}")')
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{json_path} has format version {meta.get('format_version')}; this rshw reads "
            f"version {FORMAT_VERSION}"
        )
    _check_required(meta, json_path)
    return meta


def _check_required(meta: dict[str, Any], json_path: Path) -> None:
    model = meta.get("model")
    if not isinstance(model, dict):
        raise CheckpointError(f'{json_path} lacks the "model" object (the model name and keywords)')
    missing = [f"model.{k}" for k in REQUIRED_MODEL_KEYS if k not in model]
    if not isinstance(meta.get("weights_sha256"), str):
        missing.append("weights_sha256")
    if missing:
        raise CheckpointError(
            f"{json_path} lacks {', '.join(missing)}; write the metadata with save_checkpoint "
            "(docs/errors.md, 'A .pt checkpoint')"
        )


def _load_tensors(path: Path, expected_sha: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    if _sha256(path) != expected_sha:
        raise CheckpointError(
            f"{path} does not match its metadata (SHA-256 differs): the file is corrupted or "
            "belongs to another checkpoint"
        )
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file: {e}") from None


def _config_differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    def norm(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    keys = sorted(set(expected) | set(found))
    return [
        f"{k}: checkpoint has {found.get(k)!r}, model has {expected.get(k)!r}"
        for k in keys
        if norm(expected.get(k)) != norm(found.get(k))
    ]


def load_checkpoint(
    path: str | Path, model: nn.Module | None = None, map_location: str = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Load checkpoint ``path`` into ``model`` (built from the metadata when None).

    Raises :class:`CheckpointError` naming every difference when the model's config, parameter
    names or shapes do not match the checkpoint.
    """
    from rshw.models import create_model

    stem = checkpoint_stem(path)
    meta = read_metadata(stem)
    config = dict(meta["model"])
    if model is None:
        name = config.pop("name")
        try:
            model = create_model(name, **config)
        except ValueError as e:
            raise CheckpointError(f"{stem}: cannot build its model: {e}") from None
    elif hasattr(model, "config"):
        diffs = _config_differences(model.config, config)
        if diffs:
            raise CheckpointError(f"{stem} does not match the model: " + "; ".join(diffs))
    state = _load_tensors(stem.with_suffix(".safetensors"), meta["weights_sha256"])
    own = model.state_dict()
    problems = [f"missing {k}" for k in own if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in own]
    problems += [
        f"{k}: checkpoint shape {tuple(state[k].shape)}, model shape {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if problems:
        shown = "; ".join(problems[:8]) + (
            f"; and {len(problems) - 8} more" if len(problems) > 8 else ""
        )
        raise CheckpointError(f"{stem} does not match the model's parameters: {shown}")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    return model.to(map_location), meta


def load_training_state(path: str | Path, optimizer: torch.optim.Optimizer) -> None:
    """Restore the optimizer and the torch RNG saved with checkpoint ``path``."""
    stem = checkpoint_stem(path)
    meta = read_metadata(stem)
    if "train_state" not in meta:
        raise CheckpointError(f"{stem} holds no training state (it was saved for inference only)")
    tensors = _load_tensors(
        stem.with_name(stem.name + ".train.safetensors"), meta["train_state"]["sha256"]
    )
    state = _unflatten_optimizer(tensors, meta["train_state"])
    for saved, current in zip(state["param_groups"], optimizer.param_groups, strict=True):
        for key, value in saved.items():  # JSON turned tuples (Adam's betas) into lists
            if isinstance(current.get(key), tuple):
                saved[key] = tuple(value)
    optimizer.load_state_dict(state)
    torch.set_rng_state(tensors["rng.torch"])


RESERVED = (
    "format",
    "format_version",
    "model",
    "created",
    "git_revision",
    "torch_version",
    "weights_dtype",
    "weights_sha256",
    "train_state",
)
"""Metadata keys :func:`save_checkpoint` writes itself."""


def ship_checkpoint(source: str | Path, destination: str | Path, half: bool = True) -> Path:
    """Copy a trained checkpoint for distribution: fp16 weights (``half``; else as trained), its
    metadata (with where it came from) and, when the run folder has one, its ``metrics.csv`` as
    ``DEST.metrics.csv``. No optimizer state. Returns the new checkpoint's stem."""
    src = checkpoint_stem(source)
    model, meta = load_checkpoint(src)
    kept = {k: v for k, v in meta.items() if k not in RESERVED}
    kept["shipped_from"] = {
        "checkpoint": str(src),
        "weights_sha256": meta["weights_sha256"],
        "created": meta.get("created"),
        "git_revision": meta.get("git_revision"),
    }
    stem = save_checkpoint(destination, model, kept, half=half)
    metrics = src.parent / "metrics.csv"
    if metrics.is_file():
        atomic_write_bytes(stem.with_name(stem.name + ".metrics.csv"), metrics.read_bytes())
    return stem
