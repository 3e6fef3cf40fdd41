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
override the preset. Every point runs through the cached stages (:mod:`rshw.pipeline.stages`): a
point IS the simulate-stage entry ``rshw simulate`` with the same records reads and writes (the
trace's key, covering weights, data, images, T, graph meta and code, plus the preset's contents
and the settings), so an interrupted sweep, run again, computes only the points that are missing,
and a changed grid T or images computes them all.

With ``accuracy_images = N`` in ``[sweep]``, every CIM and GPU point also measures the accuracy of
the network as that hardware computes it on N test images (functional crossbar, dtype emulation)
and ``top1_error_pct`` joins energy, latency and area as a Pareto objective; the CIM's calibrated
ADC ranges come from ``calibration_images`` training images (default 256, as in
``analyses/chip_accuracy.py``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from rshw.errors import OptionError
from rshw.pipeline import stages
from rshw.pipeline.hardware import (
    HARDWARE,
    HardwareRun,
    check_preset,
    headline,
    load_config,
    split_options,
)
from rshw.pipeline.plan import AccuracyRecord, ModelRecord
from simulators.config import ConfigError

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
    "calibration_images": (int,),
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
    # training images that calibrate the chip's ADC ranges for those accuracies
    calibration_images: int = AccuracyRecord.calibration_images
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
        if key in ("images", "timesteps", "calibration_images") and value < 1:
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


@dataclass(frozen=True)
class Inputs:
    """What every point of one (model, variant) reads: the model record, the keys of its fold and
    trace in the stage cache (a worker reads them back from there), and the accuracy record."""

    model: ModelRecord
    fold_key: str
    trace_key: str
    accuracy: AccuracyRecord | None


@lru_cache(maxsize=8)
def _products(inputs: Inputs) -> tuple[stages.Folded, stages.Product]:
    """The fold and trace products of ``inputs``, read from the stage cache (on a worker)."""
    from rshw.pipeline import runcache
    from simulators.activity import Activity
    from simulators.ir import Graph

    graph = Graph.load(runcache.entry(inputs.fold_key) / "graph.npz")
    folded = stages.Folded(inputs.model, stages.Product(graph, inputs.fold_key, True, 0.0))
    activity = Activity.load(runcache.entry(inputs.trace_key))
    return folded, stages.Product(activity, inputs.trace_key, True, 0.0)


def point_key(point: Point, inputs: Inputs) -> str:
    """The point's key: the simulate stage's key of its run on its trace, the entry ``rshw
    simulate`` with the same records reads."""
    return stages.simulate_key(point.run, inputs.trace_key)


def run_point(point: Point, inputs: Inputs, force: bool = False) -> tuple[dict[str, Any], bool]:
    """One point through the simulate (and accuracy) stages; its summary row, and whether its
    report came from the cache. Runs on a worker.

    A configuration the network does not fit on (the hardware's declared infeasible error) is a
    result, not a crash: its row has ``feasible = False`` and the model's explanation in
    ``error``.
    """
    folded, traced = _products(inputs)
    run = point.run
    product = stages.simulate(run, folded, traced, force)
    key = product.key
    if isinstance(product.value, dict):  # {"infeasible": why}
        return {**point.as_row(key), "feasible": False, "error": product.value["infeasible"]}, (
            product.cached
        )
    report = product.value
    row = {**point.as_row(key), **headline(run, report), "feasible": True, "error": ""}
    row["hardware"] = point.hardware
    row.update(
        {
            k: v
            for k, v in report.summary.items()
            if isinstance(v, (int, float)) and k not in row and k not in TIMING_KEYS
        }
    )
    if inputs.accuracy is not None and point.accuracy_images:
        row.update(stages.accuracy(run, folded, inputs.accuracy, force).value)
    return row, product.cached


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (to be minimised, one objective per column) that no other row
    dominates (no worse in every objective and better in one)."""
    values = np.asarray(values, float)
    keep = np.ones(len(values), bool)
    for i, v in enumerate(values):
        dominated = np.all(values <= v, axis=1) & np.any(values < v, axis=1)
        keep[i] = not dominated.any()
    return keep
