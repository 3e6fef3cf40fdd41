"""The hardware models `rshw simulate` drives, all through one protocol, and their summary rows.

Every ``simulators.<hw>`` package exposes ``load_config(preset, overrides) -> Config``,
``simulate(graph, activity, config, **options) -> Report``, ``preset_names()`` and ``OPTIONS``
(option name -> (type, allowed values or None, help)). A setting of a run is either one of those
declared options or a key of the preset (an override); both are checked here, before anything is
folded or traced.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rshw.errors import OptionError
from simulators.report import Report

HARDWARE = ("analytic", "cim", "gpu")
DEFAULT_PRESETS = {"analytic": "horowitz-45nm-fp32", "cim": "spikesim-rram-65nm", "gpu": "h200"}
DEFAULT_SETTINGS = {"gpu": {"batch": [1, 64]}}
"""Runs made by default: the GPU at batch 1 (latency-bound, mostly idle) and at a throughput batch,
since either alone misrepresents it."""
CALIBRATED = {("gpu", "h200"): {"implementation": ("eager",), "dtype": ("bf16", "fp32")}}
"""(hardware, preset) -> the values of each run option (the first: its ``simulate`` default) under
which that model was fitted to measurements. Any other setting of such a hardware (another preset,
the "tuned" kernels, an unmeasured dtype) is an uncalibrated projection, and every table says so."""


def module(hardware: str):
    """The ``simulators.<hardware>`` package (imported on first use)."""
    if hardware not in HARDWARE:
        raise OptionError(f"unknown hardware {hardware!r}; choose from {', '.join(HARDWARE)}")
    return importlib.import_module(f"simulators.{hardware}")


def options_of(hardware: str) -> dict[str, tuple[type, tuple | None, str]]:
    """The run options ``hardware`` declares (its ``OPTIONS``)."""
    return dict(module(hardware).OPTIONS)


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


def split_options(hardware: str, settings: dict[str, Any]) -> tuple[dict, dict]:
    """``(preset overrides, run options)`` of a run's settings, the options type-checked."""
    declared = options_of(hardware)
    options = {k: v for k, v in settings.items() if k in declared}
    for name, value in options.items():
        kind, allowed, _ = declared[name]
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise OptionError(f"{hardware} option {name} must be {kind.__name__}, got {value!r}")
        if allowed is not None and value not in allowed:
            raise OptionError(f"{hardware} option {name} must be one of {list(allowed)}")
    return {k: v for k, v in settings.items() if k not in declared}, options


def load_config(hardware: str, preset: str, overrides: dict[str, Any] | None = None):
    """The config of a preset (name or TOML path) with ``overrides``; an unknown key names both
    the preset keys' rule and the declared options."""
    try:
        return module(hardware).load_config(preset, overrides or None)
    except ValueError as e:
        names = ", ".join(sorted(options_of(hardware))) or "none"
        raise OptionError(f"{hardware}: {e}; run options of {hardware}: {names}") from None


@dataclass(frozen=True, eq=False)
class HardwareRun:
    """One hardware model at one preset with its settings (overrides and options)."""

    hardware: str
    preset: str
    settings: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        check_preset(self.hardware, self.preset)
        overrides, _ = split_options(self.hardware, self.settings)
        load_config(self.hardware, self.preset, overrides)

    @property
    def name(self) -> str:
        return self.label or self.hardware

    @property
    def slug(self) -> str:
        """The name as a file-name part: ``gpu-batch64``."""
        return self.name.replace(" ", "-").replace("=", "")

    @property
    def preset_name(self) -> str:
        """The preset's name (a path's file stem)."""
        return Path(self.preset).stem if self.preset.endswith(".toml") else self.preset

    @property
    def calibrated(self) -> bool | None:
        """Whether the numbers were fitted to measurements; None for a hardware of which nothing
        was measured (e.g. an analytic energy table from the literature)."""
        if not any(hw == self.hardware for hw, _ in CALIBRATED):
            return None
        fitted = CALIBRATED.get((self.hardware, self.preset_name))
        return fitted is not None and all(
            self.settings.get(name, values[0]) in values for name, values in fitted.items()
        )

    def simulate(self, graph, activity) -> Report:
        """Run the model; a model that takes ``samples`` gets every traced image."""
        overrides, options = split_options(self.hardware, self.settings)
        if "samples" in options_of(self.hardware):
            options.setdefault("samples", activity.samples)
        config = load_config(self.hardware, self.preset, overrides) if overrides else self.preset
        return module(self.hardware).simulate(graph, activity, config, **options)


def expand_runs(
    hardware: tuple[str, ...], presets: dict[str, str], settings: dict[str, dict[str, Any]]
) -> list[HardwareRun]:
    """One run per hardware, or one per value where a setting is a list (``gpu.batch=1,64``:
    "gpu batch=1" and "gpu batch=64")."""
    for hw in settings:
        if hw not in hardware:
            raise OptionError(f"settings for {hw!r}, which is not among {list(hardware)}")
    runs = []
    for hw in hardware:
        module(hw)  # an unknown hardware: an error listing the known ones
        base = dict(settings.get(hw, {}))
        listed = {k: v for k, v in base.items() if isinstance(v, list)}
        if len(listed) > 1:
            raise OptionError(f"{hw}: only one setting may take several values, got {list(listed)}")
        if not listed:
            runs.append(HardwareRun(hw, presets[hw], base))
            continue
        ((name, values),) = listed.items()
        for value in values:
            runs.append(HardwareRun(hw, presets[hw], {**base, name: value}, f"{hw} {name}={value}"))
    return runs


def headline(run: HardwareRun, report: Report) -> dict[str, Any]:
    """The row a summary table shows: energy, latency, SOPs and firing rate as mean and 95 % CI
    half-width over the images, area and EDP, in common units (None where a model has no such
    quantity: the analytic model has no latency or area)."""
    from rshw.pipeline.image_stats import image_columns

    row = {
        "hardware": run.name,
        "preset": run.preset_name,
        "calibrated": run.calibrated,
        **image_columns(report),
        "area_mm2": report.summary.get("area_mm2"),
        "host": report.summary.get("host"),  # GPU host costs: "measured" or "projection"
    }
    latency = row["latency_ms"]
    row["edp_uj_ms"] = None if latency is None else row["energy_uj"] * latency
    return row
