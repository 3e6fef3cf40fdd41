"""The hardware models `rshw simulate` can run, their presets, and one headline row per report."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from rshw.errors import OptionError
from simulators.report import Report

HARDWARE = ("analytic", "cim", "gpu")
DEFAULT_PRESETS = {"analytic": "horowitz-45nm-fp32", "cim": "spikesim-rram-65nm", "gpu": "h200"}


def module(hardware: str):
    """The ``simulators.<hardware>`` package (imported on first use)."""
    if hardware not in HARDWARE:
        raise OptionError(f"unknown hardware {hardware!r}; choose from {', '.join(HARDWARE)}")
    return importlib.import_module(f"simulators.{hardware}")


def preset_names(hardware: str) -> list[str]:
    return list(module(hardware).preset_names())


def check_preset(hardware: str, preset: str) -> str:
    """A preset name of that hardware, or a path to a TOML file; else an error listing them."""
    if preset.endswith(".toml"):
        return preset
    names = preset_names(hardware)
    if preset not in names:
        raise OptionError(
            f"unknown {hardware} preset {preset!r}; presets: {', '.join(names)} "
            "(or a path to a .toml file)"
        )
    return preset


def headline(hardware: str, preset: str, report: Report) -> dict[str, Any]:
    """The numbers a summary table shows, in common units (None where a model has no such
    quantity: the analytic model has no latency or area)."""
    s = report.summary
    energy_pj = s.get("energy_pj", report.total_energy_pj())
    latency_s = s.get("latency_s")
    area_mm2 = s.get("area_mm2")
    return {
        "hardware": hardware,
        "preset": preset,
        "energy_uj": energy_pj / 1e6,
        "latency_ms": None if latency_s is None else latency_s * 1e3,
        "area_mm2": area_mm2,
        "edp_uj_ms": None if latency_s is None else energy_pj / 1e6 * latency_s * 1e3,
    }


def simulate_keywords(hardware: str) -> set[str]:
    """Run options of a model's ``simulate`` (keyword-only: GPU batch and dtype, CIM mode...)."""
    params = inspect.signature(module(hardware).simulate).parameters.values()
    return {p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name != "overrides"}


def split_options(hardware: str, options: dict[str, Any]) -> tuple[dict, dict]:
    """``(config overrides, simulate keywords)`` of one sweep point's settings."""
    keywords = simulate_keywords(hardware)
    return (
        {k: v for k, v in options.items() if k not in keywords},
        {k: v for k, v in options.items() if k in keywords},
    )


def load_config(hardware: str, preset: str, overrides: dict[str, Any] | None = None):
    """A hardware config dataclass from a preset (name or TOML path) with ``overrides``; unknown
    keys and impossible values are errors that name the key."""
    loaded = module(hardware).load_config(preset, overrides or None)
    return loaded[0] if isinstance(loaded, tuple) else loaded  # (config, provenance) or config
