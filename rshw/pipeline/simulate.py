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
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from rshw.data import load_dataset, make_loader
from rshw.errors import OptionError
from rshw.importers.entry import import_fingerprint, is_import_spec, verify_imported
from rshw.pipeline import runcache
from rshw.pipeline.hardware import (
    DEFAULT_PRESETS,
    DEFAULT_SETTINGS,
    HARDWARE,
    HardwareRun,
    expand_runs,
    headline,
)
from rshw.pipeline.image_stats import grow_images, image_columns, relative_half_width
from rshw.pipeline.prepare import Prepared, prepare, shipped_checkpoint, untrained_note
from rshw.pipeline.trace import torch_lif_activity, trace
from rshw.training.checkpoint import git_revision, read_metadata
from rshw.training.realspike import check_granularity
from simulators.activity import Activity, ActivityError
from simulators.analytic.neurobench import neurobench_counts
from simulators.files import atomic_write_text
from simulators.ir import Graph, GraphError
from simulators.report import Report

IMPORTED = "imported"  # the variant label of a graph read from a NIR file
PACKAGES = ("torch", "numpy", "simpy", "pandas", "brian2", "nir", "seaborn")
STATIC_INPUT = {"once": "once", "every-step": "every_step"}
"""``--static-input`` spelling -> ``graph.meta["static_input"]``: a layer whose input is the same
at every step (the stem under direct encoding) is computed once, or at every step."""


@dataclass
class SimulateOptions:
    model: str = "resnet19"
    variant: str = "channel"
    ckpt: str | None = None
    dt: float | None = None  # seconds per step of a .nir model (None: the file's, else 1e-4)
    sew: str = "split"  # an imported SEW ADD sum: binary terms, or one multi-level input
    dataset: str = "cifar10-sample"
    data: str | None = None
    images: int | str = 8
    hardware: tuple[str, ...] = HARDWARE
    presets: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PRESETS))
    timesteps: int = 4
    seed: int = 0
    out: str | None = None
    force: bool = False
    hw_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    static_input: str = "once"
    ci_target: float = 0.01
    images_cap: int = 256
    runs: list[HardwareRun] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Check every choice (variant, hardware, presets, overrides, options, images) before
        anything is folded or traced."""
        if self.model.endswith(".nir") or is_import_spec(self.model):
            self.variant = IMPORTED  # a NIR graph has no Real Spike granularity
        else:
            check_granularity(self.variant)
            if self.dt is not None:
                raise OptionError(f"--dt applies to .nir models only, not {self.model!r}")
        self.hardware = tuple(self.hardware)
        if self.static_input not in STATIC_INPUT:
            raise OptionError(
                f"static input must be one of {', '.join(STATIC_INPUT)}, got {self.static_input!r}"
            )
        presets = {**DEFAULT_PRESETS, **self.presets}
        settings = {hw: dict(DEFAULT_SETTINGS.get(hw, {})) for hw in self.hardware}
        for hw, given in self.hw_options.items():
            settings.setdefault(hw, {}).update(given)
        self.runs = expand_runs(self.hardware, presets, settings)
        self.presets = {hw: presets[hw] for hw in self.hardware}
        if self.images != "auto" and (not isinstance(self.images, int) or self.images < 1):
            raise OptionError(f"images must be >= 1 or 'auto', got {self.images}")
        if not 0 < self.ci_target < 1:
            raise OptionError(
                f"ci target is a fraction of the mean in (0, 1), got {self.ci_target}"
            )
        if self.images_cap < 2:
            raise OptionError(f"images cap must be >= 2, got {self.images_cap}")

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
    if "import" in prep.source:  # a SpikingJelly / snnTorch module: its own forward
        return verify_imported(prep.model, activity, x)
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


def images_id(test, images: int, seed: int) -> str:
    """A hash of the exact images (pixels and labels) a run traces: what the data part of a key
    must capture (a data file replaced at the same path gives another id)."""
    subset = test.random_subset(images, seed)
    h = hashlib.sha256(np.ascontiguousarray(subset.x).tobytes())
    h.update(np.ascontiguousarray(subset.y).tobytes())
    return h.hexdigest()[:16]


def _trace_key(graph: Graph, test, opts: SimulateOptions) -> str:
    return runcache.key(
        "trace",
        graph=graph.fingerprint(),
        meta=graph.meta,
        dataset=test.source,
        split=test.split,
        images=opts.images,
        images_id=images_id(test, opts.images, opts.seed),
        seed=opts.seed,
        dtype="float64",
    )


def _trace_cached(prep: Prepared, test, opts: SimulateOptions, say) -> tuple[Activity, str]:
    name = _trace_key(prep.graph, test, opts)
    folder = runcache.entry(name)
    if folder.is_dir() and not opts.force:
        try:
            activity = Activity.load(folder)
        except ActivityError as e:
            runcache.discard_damaged(folder, e)
        else:
            say(f"trace: cached ({folder})")
            return activity, name
    if opts.force:
        runcache.discard(folder)
    with runcache.writing(folder) as tmp:
        trace(prep.graph, test, opts.images, tmp, dtype=np.float64, seed=opts.seed)
    return Activity.load(folder), name


def _prepared_key(opts: SimulateOptions, calibration) -> str:
    """What determines the folded graph: the weights (checkpoint and its checksum, or the seed
    and calibration data of an untrained stand-in), T and the static-input convention."""
    checkpoint = opts.ckpt or (
        None
        if opts.model.endswith(".nir")
        else shipped_checkpoint(opts.model, opts.variant, opts.dataset)
    )
    if is_import_spec(opts.model):
        weights = import_fingerprint(opts.model, opts.ckpt)
    else:
        weights = read_metadata(checkpoint)["weights_sha256"] if checkpoint else None
    if opts.model.endswith(".nir"):
        weights = hashlib.sha256(Path(opts.model).read_bytes()).hexdigest()
    return runcache.key(
        "prepared",
        model=opts.model,
        variant=opts.variant,
        checkpoint=str(checkpoint),
        weights=weights,
        calibration=[calibration.source, calibration.split, len(calibration)],
        seed=opts.seed,
        timesteps=opts.timesteps,
        dt=opts.dt,
        sew=opts.sew,
        static_input=STATIC_INPUT[opts.static_input],
    )


def _cached_traced(opts: SimulateOptions, test, graph_file: Path, say) -> Traced | None:
    """The folded graph, its trace and its verification from the cache, if all three exist."""
    if opts.force or not graph_file.is_file():
        return None
    try:
        graph = Graph.load(graph_file)
    except GraphError as e:
        runcache.discard_damaged(graph_file, e)
        return None
    trace_key = _trace_key(graph, test, opts)
    check = runcache.entry(f"{trace_key}.verify.json")
    if not (runcache.entry(trace_key).is_dir() and check.is_file()):
        return None
    try:
        activity = Activity.load(runcache.entry(trace_key))
    except ActivityError as e:
        runcache.discard_damaged(runcache.entry(trace_key), e)
        return None
    try:
        verification = json.loads(check.read_text())
    except ValueError as e:
        runcache.discard_damaged(check, e)
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
    return Traced(prep, activity, trace_key, test, verification, {})


def report_key(run: HardwareRun, trace_key: str) -> str:
    """The key of one hardware run on one trace: the trace's key (weights, data, images, T, graph
    meta, code), the preset's contents and the settings. Sweep points use it too."""
    preset_text = Path(run.preset).read_text() if run.preset.endswith(".toml") else run.preset
    return runcache.key(
        "report", trace=trace_key, hardware=run.hardware, preset=preset_text, settings=run.settings
    )


def report_for(run: HardwareRun, traced: Traced, force: bool = False) -> tuple[Report, bool]:
    """The Report of one hardware run on a traced network (cached by the trace, the preset's
    contents, the settings and the code); ``True`` beside it when it came from the cache."""
    folder = runcache.entry(report_key(run, traced.trace_key))
    if (folder / "report.json").is_file() and not force:
        try:
            return Report.load(folder, "report"), True
        except (ValueError, KeyError, OSError) as e:  # a cut CSV, unreadable JSON
            runcache.discard_damaged(folder, e)
    report = run.simulate(traced.prep.graph, traced.activity)
    report.frame["weights"] = traced.prep.label
    if force:
        runcache.discard(folder)
    with runcache.writing(folder) as tmp:
        report.save(tmp, "report")
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
        sew=opts.sew,
    )
    prep.graph.meta["static_input"] = STATIC_INPUT[opts.static_input]
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


@dataclass
class Simulated:
    """A traced network with every hardware run's report."""

    traced: Traced
    reports: dict[HardwareRun, Report]
    cached: dict[HardwareRun, bool]
    images_stop: str | None = None


def run_hardware(opts: SimulateOptions, traced: Traced) -> Simulated:
    """Every hardware run of ``opts`` on ``traced`` (timings into ``traced.timings``)."""
    reports, cached = {}, {}
    for run in tqdm(opts.runs, desc="hardware", disable=len(opts.runs) < 2):
        t0 = time.perf_counter()
        reports[run], cached[run] = report_for(run, traced, opts.force)
        traced.timings[f"{run.slug}_s"] = time.perf_counter() - t0
    return Simulated(traced, reports, cached)


def simulate_images(opts: SimulateOptions, say=print) -> Simulated:
    """Trace and simulate ``opts.images`` images, or with ``images="auto"`` a doubling number of
    them until every run's energy CI half-width is within ``ci_target`` of its mean or the cap
    (``images_cap``, at most the test split) is reached."""
    if opts.images != "auto":
        return run_hardware(opts, prepare_traced(opts, say))
    test = load_dataset(opts.dataset, opts.data, "test", timesteps=opts.timesteps)
    cap = min(opts.images_cap, len(test))
    done: list[Simulated] = []

    def measure(n: int) -> dict[str, float]:
        at_n = replace(opts, images=n)
        done.append(run_hardware(at_n, prepare_traced(at_n, say)))
        return {
            run.name: relative_half_width(headline(run, report))
            for run, report in done[-1].reports.items()
        }

    n, reason = grow_images(measure, min(8, cap), cap, opts.ci_target)
    say(f"--images auto: {n} images, {reason}")
    done[-1].images_stop = reason
    return done[-1]


def simulate_run(opts: SimulateOptions, say=print) -> dict[str, Any]:
    """Run everything and write the run folder (built under a private name, swapped in when
    complete); returns the manifest."""
    from rshw.pipeline.summary_table import summary_frame
    from rshw.reporting.run_figures import write_run_figures

    started = time.perf_counter()
    result = simulate_images(opts, say)
    traced = result.traced
    prep, activity, test, verification = (
        traced.prep,
        traced.activity,
        traced.dataset,
        traced.verification,
    )
    timings = traced.timings
    summary = summary_frame(opts, result)
    reports = {run.name: report for run, report in result.reports.items()}
    with runcache.swapping(opts.run_folder) as folder:
        for run, report in result.reports.items():
            report.save(folder, f"report-{run.slug}")
        atomic_write_text(folder / "summary.csv", summary.to_csv(index=False))
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
                "images": activity.samples,
                "images_id": images_id(test, activity.samples, opts.seed),
                "images_stop": result.images_stop,
                "seed": opts.seed,
            },
            "verification": verification,
            "neurobench": neurobench_counts(prep.graph, activity),
            "activity": {
                "cache": str(activity.path),
                "mean_rate": float(np.mean([activity.rate(e) for e in activity.edges])),
            },
            "accuracy_on_traced_pct": activity.meta.get("accuracy_on_traced_pct"),
            "reports": {
                run.name: {
                    "hardware": run.hardware,
                    "preset": run.preset,
                    "settings": run.settings,
                    "calibrated": run.calibrated,
                    "over_images": image_columns(r),
                    "config": r.config,
                    "summary": r.summary,
                }
                for run, r in result.reports.items()
            },
            "figures": [str(p.name) for p in figures],
            "timings_s": timings,
            "versions": _versions(),
            "git_revision": git_revision(),
            "code_hash": runcache.code_hash(),
        }
        atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
    return manifest
