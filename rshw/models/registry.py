"""A small timm-style model registry: ``create_model(name, **kw)`` and ``list_models()``.

Every zoo model takes the same keywords (:data:`COMMON_DEFAULTS`); a model may change a default
(the ImageNet ResNets default to 224×224 inputs and 1000 classes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from rshw.errors import OptionError

COMMON_DEFAULTS: dict[str, Any] = {
    "realspike": "none",
    "timesteps": 4,
    "num_classes": 10,
    "in_channels": 3,
    "input_size": 32,
    "tau": 0.25,
    "v_th": 0.5,
    "surrogate": "tanh",
    "detach_reset": False,
}

_MODELS: dict[str, tuple[type[nn.Module], dict[str, Any]]] = {}


def register_model(name: str, **defaults: Any) -> Callable[[type[nn.Module]], type[nn.Module]]:
    unknown = set(defaults) - set(COMMON_DEFAULTS)
    if unknown:
        raise ValueError(f"register_model({name!r}): unknown default(s) {sorted(unknown)}")

    def wrap(cls: type[nn.Module]) -> type[nn.Module]:
        _MODELS[name] = (cls, {**COMMON_DEFAULTS, **defaults})
        return cls

    return wrap


def list_models() -> list[str]:
    return sorted(_MODELS)


def model_defaults(name: str) -> dict[str, Any]:
    """Every keyword the model accepts, with its default."""
    return dict(_entry(name)[1])


def _entry(name: str) -> tuple[type[nn.Module], dict[str, Any]]:
    if name not in _MODELS:
        raise OptionError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return _MODELS[name]


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a zoo model; ``model.config`` holds its name and every keyword, defaults filled in."""
    cls, defaults = _entry(name)
    unknown = set(kwargs) - set(defaults)
    if unknown:
        raise OptionError(
            f"model {name!r} got unknown option(s) {sorted(unknown)}; "
            f"it accepts {', '.join(defaults)}"
        )
    config = {**defaults, **kwargs}
    if isinstance(config["input_size"], list):
        config["input_size"] = tuple(config["input_size"])
    model = cls(**config)
    model.config = {"name": name, **config}
    return model
