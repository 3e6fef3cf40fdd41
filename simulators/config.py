"""Hardware configs are data: TOML presets loaded into validated dataclasses.

Every number in a preset file is written ``key = {value = ..., unit = "...", source = "..."}``
so its unit and origin travel with it; :func:`load_preset` checks units against the dataclass,
rejects unknown or missing keys by name, and keeps the sources for reports.
"""

from __future__ import annotations

import dataclasses
import weakref
from pathlib import Path
from typing import Any, TypeVar

import tomllib

T = TypeVar("T")


class ConfigError(ValueError):
    """A hardware config is malformed; the message names the key and what is allowed."""


def unit_field(unit: str, **kw: Any) -> Any:
    """A dataclass field that declares its unit; :func:`load_preset` checks presets against it."""
    return dataclasses.field(metadata={"unit": unit}, **kw)


def preset_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.toml"))


def preset_path(folder: Path, name_or_path: str | Path) -> Path:
    """A preset by name (a file in ``folder``) or by path to a TOML file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        return path
    candidate = folder / f"{name_or_path}.toml"
    if candidate.is_file():
        return candidate
    raise ConfigError(
        f"unknown preset {str(name_or_path)!r}; presets: "
        f"{', '.join(preset_names(folder))} (or give a path to a .toml file)"
    )


def load_preset(
    cls: type[T], path: Path, overrides: dict[str, Any] | None = None
) -> tuple[T, dict]:
    """Build ``cls`` from a preset file; returns the dataclass and ``{key: {unit, source}}``.

    Each dataclass field declares its unit in ``metadata={"unit": ...}``; a value given with
    another unit is an error. ``overrides`` replace values (plain numbers, same units).
    """
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values, provenance = {}, {}
    for key, entry in raw.items():
        if key not in fields:
            raise ConfigError(f"{path}: unknown key {key!r}; allowed keys: {', '.join(fields)}")
        unit = fields[key].metadata.get("unit", "")
        if isinstance(entry, dict):
            if "value" not in entry:
                raise ConfigError(f"{path}: key {key!r} needs a 'value'")
            if entry.get("unit", "") != unit:
                raise ConfigError(
                    f"{path}: key {key!r} must be given in {unit!r}, not {entry.get('unit', '')!r}"
                )
            values[key] = entry["value"]
            provenance[key] = {"unit": unit, "source": entry.get("source", "")}
        else:
            values[key] = entry
            provenance[key] = {"unit": unit, "source": ""}
    for key, value in (overrides or {}).items():
        if key not in fields:
            raise ConfigError(f"override: unknown key {key!r}; allowed keys: {', '.join(fields)}")
        values[key] = value
        provenance[key] = {"unit": fields[key].metadata.get("unit", ""), "source": OVERRIDE}
    missing = [
        k
        for k, f in fields.items()
        if k not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{path}: missing key(s) {missing}")
    try:
        config = cls(**values)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path}: {e}") from None
    _remember_sources(config, provenance)
    return config, provenance


OVERRIDE = "override (--hw-option or a sweep grid)"
"""The source of a value that replaced the preset's."""
_SOURCES: dict[int, dict] = {}


def _remember_sources(config: Any, provenance: dict) -> None:
    """Keep a loaded config's ``{key: {unit, source}}`` beside it (for as long as it lives), so
    a model given the config object, not the preset's name, still reports every value's source."""
    _SOURCES[id(config)] = provenance
    weakref.finalize(config, _SOURCES.pop, id(config), None)


def sources_of(config: Any) -> dict:
    """The ``{key: {unit, source}}`` of a config :func:`load_preset` built ({} for another)."""
    return _SOURCES.get(id(config), {})


def require(condition: bool, key: str, allowed: str) -> None:
    """Raise :class:`ConfigError` naming ``key`` and the allowed values unless ``condition``."""
    if not condition:
        raise ConfigError(f"key {key!r}: must be {allowed}")
