"""Design-space sweeps: a grid of hardware configurations × models × variants, one task each.

A grid file (TOML) names the models, variants and data, and one or more hardware blocks, each a
preset plus ``grid`` (lists: their cartesian product) or ``points`` (explicit override sets):

    [sweep]
    models = ["resnet19"]
    variants = ["channel", "element"]
    dataset = "cifar10-sample"
    images = 2

    [[hardware]]
    kind = "cim"
    preset = "spikesim-rram-65nm"
    grid = {adc_bits = [4, 5, 6], columns_per_adc = [4, 8]}

Settings that are run options the model declares (its ``OPTIONS``: GPU ``batch``, ``dtype``,
``execution``, ``implementation``; CIM ``mode``, ``samples``) are passed as such; all others
override the preset. A point's key is the key ``rshw simulate`` gives the same report (the trace's
key, covering weights, data, images, T, graph meta and code, plus the preset's contents and the
settings), with ``accuracy_images`` added when it asks for accuracy; a finished point is a JSON
file named by it, so an interrupted sweep, run again, computes only the points that are missing,
and a changed grid T or images computes them all.

With ``accuracy_images = N`` in ``[sweep]``, every CIM and GPU point also measures the accuracy of
the network as that hardware computes it on N test images (functional crossbar, dtype emulation)
and ``top1_error_pct`` joins energy, latency and area as a Pareto objective.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from rshw.errors import OptionError
from rshw.pipeline.hardware import (
    HARDWARE,
    HardwareRun,
    check_preset,
    headline,
    load_config,
    split_options,
)
from rshw.pipeline.hardware_accuracy import point_accuracy
from simulators.cim.mapping import MappingError
from simulators.config import ConfigError
from simulators.files import atomic_write_text

TIMING_KEYS = {"sim_wall_s", "simpy_events_per_s"}
"""Summary entries that measure the simulator's own speed, not the hardware: not results."""
SWEEP_TYPES: dict[str, tuple[type, ...]] = {
    "models": (list, str),
    "variants": (list, str),
    "dataset": (str,),
    "data": (str,),
    "images": (int,),
    "timesteps": (int,),
    "seed": (int,),
    "static_input": (str,),
    "accuracy_images": (int,),
}
"""[sweep] key -> its type (a list's item type second)."""
SWEEP_KEYS = set(SWEEP_TYPES)
HARDWARE_KEYS = {"kind", "preset", "grid", "points"}


class GridError(OptionError):
    """A grid file is malformed; the message names the key."""


@dataclass(frozen=True)
class Point:
    model: str
    variant: str
    hardware: str
    preset: str
    overrides: tuple[tuple[str, Any], ...] = ()
    accuracy_images: int = 0

    @property
    def run(self) -> HardwareRun:
        return HardwareRun(self.hardware, self.preset, dict(self.overrides))

    def as_row(self, key: str) -> dict[str, Any]:
        return {
            "point": key,
            "model": self.model,
            "variant": self.variant,
            "hardware": self.hardware,
            "preset": self.preset,
            **{f"cfg.{k}": v for k, v in self.overrides},
        }


@dataclass
class Grid:
    models: list[str]
    variants: list[str]
    dataset: str = "cifar10-sample"
    data: str | None = None
    images: int = 2
    timesteps: int = 4
    seed: int = 0
    static_input: str = "once"
    accuracy_images: int = 0  # test images for each point's accuracy (0: energy only)
    points: list[Point] = field(default_factory=list)


def _check_sweep_types(sweep: dict[str, Any], path: Path) -> None:
    """Refuse a value of the wrong type when the grid is read, not as a crash mid-sweep."""
    for key, value in sweep.items():
        kind, *item = SWEEP_TYPES[key]
        wrong = not isinstance(value, kind) or isinstance(value, bool)
        if kind is list:
            wrong = wrong or not value or not all(isinstance(v, item[0]) for v in value)
        if wrong:
            shape = f"a non-empty list of {item[0].__name__}" if kind is list else kind.__name__
            raise GridError(f"{path}: [sweep] {key} must be {shape}, got {value!r}")
        if key in ("images", "timesteps") and value < 1:
            raise GridError(f"{path}: [sweep] {key} must be >= 1, got {value}")


def _expand(block: dict[str, Any], where: str) -> list[dict[str, Any]]:
    grid, points = block.get("grid", {}), block.get("points", [])
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        raise GridError(f"{where}: 'grid' must map keys to non-empty lists of values")
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise GridError(f"{where}: 'points' must be a list of tables of overrides")
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    return [{**c, **p} for c in combos for p in (points or [{}])] if grid else (points or [{}])


def load_grid(path: str | Path) -> Grid:
    """Parse and validate a grid file: every hardware override is checked against its config."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise GridError(f"no grid file at {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise GridError(f"{path}: not valid TOML: {e}") from None
    sweep = raw.get("sweep")
    if not isinstance(sweep, dict) or "models" not in sweep or "variants" not in sweep:
        raise GridError(f"{path}: needs a [sweep] table with 'models' and 'variants'")
    unknown = set(sweep) - SWEEP_KEYS
    if unknown:
        raise GridError(
            f"{path}: unknown key(s) {sorted(unknown)} in [sweep]; allowed: {sorted(SWEEP_KEYS)}"
        )
    _check_sweep_types(sweep, path)
    grid = Grid(**sweep)
    blocks = raw.get("hardware")
    if not isinstance(blocks, list) or not blocks:
        raise GridError(f"{path}: needs at least one [[hardware]] block")
    for n, block in enumerate(blocks):
        where = f"{path}: [[hardware]] #{n + 1}"
        bad = set(block) - HARDWARE_KEYS
        if bad:
            raise GridError(
                f"{where}: unknown key(s) {sorted(bad)}; allowed: {sorted(HARDWARE_KEYS)}"
            )
        kind = block.get("kind")
        if kind not in HARDWARE:
            raise GridError(f"{where}: 'kind' must be one of {list(HARDWARE)}, got {kind!r}")
        preset = check_preset(kind, str(block.get("preset", "")))
        for overrides in _expand(block, where):
            try:  # fails early, naming the key and value
                load_config(kind, preset, split_options(kind, overrides)[0])
            except (OptionError, ConfigError) as e:
                raise GridError(f"{where}: {e}") from None
            for model in grid.models:
                for variant in grid.variants:
                    grid.points.append(
                        Point(
                            model,
                            variant,
                            kind,
                            preset,
                            tuple(sorted(overrides.items())),
                            grid.accuracy_images,
                        )
                    )
    return grid


@lru_cache(maxsize=8)
def _loaded(graph_file: str, activity_dir: str):
    from simulators.activity import Activity
    from simulators.ir import Graph

    return Graph.load(graph_file), Activity.load(activity_dir)


def run_point(
    point: Point, graph_file: str, activity_dir: str, key: str, accuracy_inputs: str = ""
) -> dict[str, Any]:
    """Simulate one point from its cached graph and trace; the summary row. Runs on a worker.
    With ``accuracy_inputs`` (saved test images), the row also holds the accuracy of the network
    as this hardware computes it (:mod:`rshw.pipeline.hardware_accuracy`).

    A configuration the network does not fit on (too few chips, say) is a result, not a crash:
    its row has ``feasible = False`` and the model's explanation in ``error``.
    """
    graph, activity = _loaded(graph_file, activity_dir)
    run = point.run
    try:
        report = run.simulate(graph, activity)
    except MappingError as e:  # only a network that does not fit the hardware is a result
        return {**point.as_row(key), "feasible": False, "error": str(e)}
    row = {**point.as_row(key), **headline(run, report), "feasible": True, "error": ""}
    row["hardware"] = point.hardware
    row.update(
        {
            k: v
            for k, v in report.summary.items()
            if isinstance(v, (int, float)) and k not in row and k not in TIMING_KEYS
        }
    )
    if accuracy_inputs:
        overrides, keywords = split_options(point.hardware, run.settings)
        config = load_config(point.hardware, point.preset, overrides)
        row.update(point_accuracy(point.hardware, graph, config, keywords, accuracy_inputs))
    return row


def save_point(folder: Path, row: dict[str, Any]) -> None:
    atomic_write_text(folder / f"{row['point']}.json", json.dumps(row, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__}")


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (to be minimised, one objective per column) that no other row
    dominates (no worse in every objective and better in one)."""
    values = np.asarray(values, float)
    keep = np.ones(len(values), bool)
    for i, v in enumerate(values):
        dominated = np.all(values <= v, axis=1) & np.any(values < v, axis=1)
        keep[i] = not dominated.any()
    return keep
