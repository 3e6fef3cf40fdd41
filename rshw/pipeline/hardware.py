"""The hardware record of the plan (:class:`HardwareRun`: one hardware model at one preset with
its settings), resolved from a request and checked before anything is folded or traced.

Every ``simulators.<hw>`` package listed in :mod:`simulators.registry` exposes the hardware
protocol (``load_config(preset, overrides) -> Config``, ``simulate(graph, activity, config,
**options) -> Report``, ``preset_names()``, ``OPTIONS``: option name -> (type, allowed values or
None, help)) and declares its defaults, calibration, accuracy and infeasible errors. A setting of
a run is either one of the declared options or a key of the preset (an override). Nothing here
knows a hardware by name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rshw.errors import OptionError
from simulators import registry
from simulators.config import preset_path
from simulators.report import Report

HARDWARE = registry.HARDWARE


def module(hardware: str):
    """The ``simulators.<hardware>`` package (imported on first use)."""
    try:
        return registry.package(hardware)
    except ValueError as e:
        raise OptionError(str(e)) from None


def default_presets() -> dict[str, str]:
    """Hardware -> the preset a run uses unless told otherwise (each package's declaration)."""
    return {hw: module(hw).DEFAULT_PRESET for hw in HARDWARE}


def default_settings(hardware: str) -> dict[str, Any]:
    """The settings of a default run of ``hardware`` (a list: one run per value)."""
    return dict(module(hardware).DEFAULT_SETTINGS)


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
    def preset_sha256(self) -> str:
        """A hash of the preset file's contents (a named preset's file, or the path given)."""
        path = preset_path(module(self.hardware).PRESETS, self.preset)
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    @property
    def calibrated(self) -> bool | None:
        """Whether the numbers were fitted to measurements; None for a hardware of which nothing
        was measured (e.g. an analytic energy table from the literature)."""
        declared = module(self.hardware).CALIBRATED
        if not declared:
            return None
        fitted = declared.get(self.preset_name)
        return fitted is not None and all(
            self.settings.get(name, values[0]) in values for name, values in fitted.items()
        )

    @property
    def infeasible(self) -> tuple[type[Exception], ...]:
        """The errors that mean the network does not fit this design point (a result)."""
        return tuple(module(self.hardware).INFEASIBLE)

    @property
    def reports_accuracy(self) -> bool:
        return module(self.hardware).accuracy is not None

    def notes(self) -> list[str]:
        """The footnotes a table shows for this run (one per declared option it sets)."""
        declared = module(self.hardware).NOTES
        return [note for name, note in declared.items() if name in self.settings]

    def config(self):
        """The run's config: the preset with its overrides."""
        overrides, _ = split_options(self.hardware, self.settings)
        return load_config(self.hardware, self.preset, overrides)

    def simulate(self, graph, activity) -> Report:
        """Run the model; a model that takes ``samples`` gets every traced image."""
        overrides, options = split_options(self.hardware, self.settings)
        if "samples" in options_of(self.hardware):
            options.setdefault("samples", activity.samples)
        config = load_config(self.hardware, self.preset, overrides) if overrides else self.preset
        return module(self.hardware).simulate(graph, activity, config, **options)

    def accuracy(self, graph, x, labels, calibration, seed: int = 0) -> dict[str, Any]:
        """The network's accuracy as this hardware computes it ({} for one that computes none)."""
        if not self.reports_accuracy:
            return {}
        _, options = split_options(self.hardware, self.settings)
        config = self.config()
        return module(self.hardware).accuracy(graph, config, options, x, labels, calibration, seed)


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
        "energy_sop_correlation": report.summary.get("energy_sop_correlation"),
        "host": report.summary.get("host"),  # GPU host costs: "measured" or "projection"
        "streamed_images_queue": report.summary.get("streamed_images_queue"),  # CIM
    }
    latency = row["latency_ms"]
    row["edp_uj_ms"] = None if latency is None else row["energy_uj"] * latency
    return row
