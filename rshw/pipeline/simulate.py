"""``rshw simulate``: one trained network, re-parameterized, traced on real images and run on
every hardware model, with a summary table, Report CSVs, figures and a manifest.

Steps: load (or stand in for) the checkpoint; fold it into the IR; trace the images in float64;
verify that the IR's spikes equal the torch model's on those images; run each hardware model;
write the run folder. Traces and reports are cached by a hash of their inputs (``--force``
recomputes), so re-running after an interruption or a change of figures is quick.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from rshw.data import load_dataset, make_loader
from rshw.errors import OptionError
from rshw.pipeline import runcache
from rshw.pipeline.hardware import (
    DEFAULT_PRESETS,
    HARDWARE,
    check_preset,
    headline,
    load_config,
    module,
    simulate_keywords,
    split_options,
)
from rshw.pipeline.prepare import Prepared, prepare, shipped_checkpoint, untrained_note
from rshw.pipeline.trace import torch_lif_activity, trace
from rshw.training.checkpoint import git_revision, read_metadata
from rshw.training.realspike import check_granularity
from simulators.activity import Activity
from simulators.files import atomic_write_text
from simulators.ir import Graph
from simulators.report import Report

IMPORTED = "imported"  # the variant label of a graph read from a NIR file
PACKAGES = ("torch", "numpy", "simpy", "pandas", "brian2", "nir", "seaborn")


@dataclass
class SimulateOptions:
    model: str = "resnet19"
    variant: str = "channel"
    ckpt: str | None = None
    dt: float | None = None  # seconds per step of a .nir model (None: the file's, else 1e-4)
    dataset: str = "cifar10-sample"
    data: str | None = None
    images: int = 8
    hardware: tuple[str, ...] = HARDWARE
    presets: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PRESETS))
    timesteps: int = 4
    seed: int = 0
    out: str | None = None
    force: bool = False
    hw_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.model.endswith(".nir"):
            self.variant = IMPORTED  # a NIR graph has no Real Spike granularity
        else:
            check_granularity(self.variant)
            if self.dt is not None:
                raise ValueError(f"--dt applies to .nir models only, not {self.model!r}")
        self.hardware = tuple(self.hardware)
        for hw in self.hardware:
            module(hw)  # unknown hardware: error listing the known ones
            self.presets[hw] = check_preset(hw, self.presets.get(hw, DEFAULT_PRESETS[hw]))
        for hw, options in self.hw_options.items():
            if hw not in self.hardware:
                raise OptionError(f"options for {hw!r}, which is not among {list(self.hardware)}")
            try:
                load_config(hw, self.presets[hw], split_options(hw, options)[0])
            except ValueError as e:
                raise OptionError(
                    f"{hw} option: {e}; or a simulate option: "
                    f"{', '.join(sorted(simulate_keywords(hw)))}"
                ) from None
        if self.images < 1:
            raise OptionError(f"images must be >= 1, got {self.images}")

    @property
    def run_folder(self) -> Path:
        return Path(self.out or f"results/simulate/{Path(self.model).stem}-{self.variant}")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def traced_inputs(test, images: int, seed: int) -> torch.Tensor:
    """The exact (normalised) inputs ``trace`` sees for this draw of images."""
    subset = test.random_subset(images, seed)
    x, _ = next(iter(make_loader(subset, images, shuffle=False, augment=False)))
    return x


def verify(prep: Prepared, activity: Activity, x: torch.Tensor) -> dict[str, Any]:
    """Compare the IR's traced spikes (float64) with the torch model's (float64) on the same
    images: the folding is exact when not a single spike differs."""
    if prep.model is None:
        return {"verified": False, "reason": "imported graph: no torch model to compare with"}
    model = prep.model.double().eval()
    raw, _, _ = torch_lif_activity(model, x.double())
    model.float()
    spikes = {n: s.astype(bool) for n, s in raw.items()}
    differ = {
        n: int((activity.maps(n).swapaxes(0, 1) != s).sum())
        for n, s in spikes.items()
        if n in activity.edges
    }
    compared = int(sum(s.size for n, s in spikes.items() if n in activity.edges))
    return {
        "verified": sum(differ.values()) == 0,
        "spikes_compared": compared,
        "spikes_differing": sum(differ.values()),
        "layers_differing": [n for n, d in differ.items() if d],
    }


def _trace_key(graph: Graph, test, opts: SimulateOptions) -> str:
    return runcache.key(
        "trace",
        graph=graph.fingerprint(),
        dataset=test.source,
        split=test.split,
        images=opts.images,
        seed=opts.seed,
        dtype="float64",
        code=runcache.code_hash("simulators.activity", "simulators.executor"),
    )


def _trace_cached(prep: Prepared, test, opts: SimulateOptions, say) -> tuple[Activity, str]:
    name = _trace_key(prep.graph, test, opts)
    folder = runcache.entry(name)
    if folder.is_dir() and not opts.force:
        say(f"trace: cached ({folder})")
        return Activity.load(folder), name
    activity, _ = trace(prep.graph, test, opts.images, folder, dtype=np.float64, seed=opts.seed)
    return activity, name


def _prepared_key(opts: SimulateOptions, calibration) -> str:
    """What determines the folded graph: the weights (checkpoint and its checksum, or the seed
    and calibration data of an untrained stand-in) and the code that folds them."""
    checkpoint = opts.ckpt or (
        None
        if opts.model.endswith(".nir")
        else shipped_checkpoint(opts.model, opts.variant, opts.dataset)
    )
    weights = read_metadata(checkpoint)["weights_sha256"] if checkpoint else None
    if opts.model.endswith(".nir"):
        weights = hashlib.sha256(Path(opts.model).read_bytes()).hexdigest()
    return runcache.key(
        "prepared",
        model=opts.model,
        variant=opts.variant,
        checkpoint=str(checkpoint),
        weights=weights,
        calibration=calibration.source,
        seed=opts.seed,
        timesteps=opts.timesteps,
        dt=opts.dt,
        code=runcache.code_hash(
            "rshw.models",
            "rshw.pipeline.reparam",
            "rshw.training.calibrate",
            "rshw.pipeline.prepare",
            "simulators.ir",
            "simulators.nir_io",
        ),
    )


def _cached_traced(opts: SimulateOptions, test, graph_file: Path, say) -> Traced | None:
    """The folded graph, its trace and its verification from the cache, if all three exist."""
    if opts.force or not graph_file.is_file():
        return None
    graph = Graph.load(graph_file)
    trace_key = _trace_key(graph, test, opts)
    check = runcache.entry(f"{trace_key}.verify.json")
    if not (runcache.entry(trace_key).is_dir() and check.is_file()):
        return None
    source = graph.meta.get("source", {})
    prep = Prepared(graph, None, source.get("trained"), source)
    if prep.trained is False:
        calibration = source["calibration"]
        say(
            untrained_note(
                opts.model, opts.variant, opts.seed, calibration["samples"], calibration["dataset"]
            )
            + " (cached)"
        )
    say(f"graph, trace and verification: cached ({graph_file.parent})")
    activity = Activity.load(runcache.entry(trace_key))
    return Traced(prep, activity, trace_key, test, json.loads(check.read_text()), {})


def report_for(
    hw: str, preset: str, traced: Traced, force: bool = False, options: dict[str, Any] | None = None
) -> tuple[Report, bool]:
    """The Report of one hardware model and preset on a traced network (cached). ``options``
    are preset overrides or keywords of the model's ``simulate`` (e.g. GPU ``batch``)."""
    options = dict(options or {})
    preset_text = Path(preset).read_text() if preset.endswith(".toml") else preset
    name = runcache.key(
        "report",
        trace=traced.trace_key,
        hardware=hw,
        preset=preset_text,
        options=options,
        code=runcache.code_hash(module(hw).__name__),
    )
    folder = runcache.entry(name)
    if (folder / "report.json").is_file() and not force:
        return Report.load(folder, "report"), True
    overrides, keywords = split_options(hw, options)
    config = load_config(hw, preset, overrides) if overrides else preset
    report = module(hw).simulate(traced.prep.graph, traced.activity, config, **keywords)
    report.frame["weights"] = traced.prep.label
    report.save(folder, "report")
    return report, False


@dataclass
class Traced:
    """A prepared graph with its (verified) activity on real images."""

    prep: Prepared
    activity: Activity
    trace_key: str
    dataset: Any
    verification: dict[str, Any]
    timings: dict[str, float]


def prepare_traced(opts: SimulateOptions, say=print) -> Traced:
    """Load, fold, trace in float64 and verify spike for spike against the torch model."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    test = load_dataset(opts.dataset, opts.data, "test", timesteps=opts.timesteps)
    calibration = load_dataset(opts.dataset, opts.data, "train", timesteps=opts.timesteps)
    timings["data_s"] = time.perf_counter() - t0
    graph_file = runcache.entry(_prepared_key(opts, calibration)) / "graph.npz"
    cached = _cached_traced(opts, test, graph_file, say)
    if cached is not None:
        cached.timings.update(timings)
        return cached
    t0 = time.perf_counter()
    prep = prepare(
        opts.model,
        opts.variant,
        calibration,
        opts.ckpt,
        opts.timesteps,
        seed=opts.seed,
        dtype=np.float64,
        dt=opts.dt,
        say=say,
    )
    timings["reparam_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    activity, trace_key = _trace_cached(prep, test, opts, say)
    prep.graph.save(graph_file)
    timings["trace_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    verification = verify(prep, activity, traced_inputs(test, opts.images, opts.seed))
    timings["verify_s"] = time.perf_counter() - t0
    if prep.model is not None and not verification["verified"]:
        raise RuntimeError(
            f"the folded network differs from the trained one on the traced images: {verification}"
        )
    atomic_write_text(runcache.entry(f"{trace_key}.verify.json"), json.dumps(verification))
    return Traced(prep, activity, trace_key, test, verification, timings)


def simulate_run(opts: SimulateOptions, say=print) -> dict[str, Any]:
    """Run everything; returns the manifest (also written to the run folder)."""
    started = time.perf_counter()
    traced = prepare_traced(opts, say)
    prep, activity, test, verification = (
        traced.prep,
        traced.activity,
        traced.dataset,
        traced.verification,
    )
    timings = traced.timings
    folder = opts.run_folder
    folder.mkdir(parents=True, exist_ok=True)
    rows, reports = [], {}
    for hw in tqdm(opts.hardware, desc="hardware", disable=len(opts.hardware) < 2):
        t0 = time.perf_counter()
        preset = opts.presets[hw]
        report, cached = report_for(hw, preset, traced, opts.force, opts.hw_options.get(hw))
        timings[f"{hw}_s"] = time.perf_counter() - t0
        report.save(folder, f"report-{hw}")
        reports[hw] = report
        rows.append({**headline(hw, Path(preset).stem, report), "cached": cached})
    summary = pd.DataFrame(rows)
    analytic = reports.get("analytic")
    if analytic is not None:
        summary["sops"] = analytic.summary["sops"]
        summary["firing_rate"] = analytic.summary["firing_rate"]
    summary.insert(0, "weights", prep.label)
    summary.insert(0, "variant", opts.variant)
    summary.insert(0, "model", Path(opts.model).stem)
    atomic_write_text(folder / "summary.csv", summary.to_csv(index=False))
    from rshw.reporting.run_figures import write_run_figures

    figures = write_run_figures(folder, reports, activity, prep, opts)
    timings["total_s"] = time.perf_counter() - started
    manifest = {
        "command": " ".join(sys.argv),
        "options": {**asdict(opts), "hardware": list(opts.hardware)},
        "weights": prep.label,
        "graph": {"fingerprint": prep.graph.fingerprint(), "meta": prep.graph.meta},
        "data": {
            "dataset": test.name,
            "source": test.source,
            "split": test.split,
            "images": opts.images,
            "seed": opts.seed,
        },
        "verification": verification,
        "activity": {
            "cache": str(activity.path),
            "mean_rate": float(np.mean([activity.rate(e) for e in activity.edges])),
        },
        "accuracy_on_traced_pct": activity.meta.get("accuracy_on_traced_pct"),
        "reports": {
            hw: {"preset": opts.presets[hw], "config": r.config, "summary": r.summary}
            for hw, r in reports.items()
        },
        "figures": [str(p.name) for p in figures],
        "timings_s": timings,
        "versions": _versions(),
        "git_revision": git_revision(),
    }
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
    return manifest
