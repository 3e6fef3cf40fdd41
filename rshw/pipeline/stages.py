"""The stages every command runs, each through ONE cached-stage wrapper, and the only place cache
keys are built.

A stage is a pure function of its record (:mod:`rshw.pipeline.plan`) and of its upstream
products:

    fold(ModelRecord)                          -> Folded     (the IR graph; the torch network
                                                              rebuilt on demand for verify)
    trace(Folded, DataRecord)                  -> Activity   (spikes of the IR on the images)
    verify(Folded, trace, DataRecord)          -> dict       (IR spikes == torch / framework
                                                              spikes?)
    simulate(HardwareRun, Folded, trace)       -> Report     (or the hardware's "infeasible")
    accuracy(HardwareRun, Folded, AccuracyRecord) -> dict    (accuracy as that hardware computes)

:func:`run_stage` owns what every stage shares: the key (the stage's name, its record's fields,
its upstream products' keys, and a hash of every source file of ``rshw`` and ``simulators``, so a
stale hit cannot happen), the lookup, a damaged entry discarded in one line and recomputed,
``force`` (recompute and replace), the atomic publish (:mod:`rshw.pipeline.runcache`) and the
timing. The fold's key holds no image count, so ``--images auto`` folds once; a sweep point and
``rshw simulate`` with the same records share one report entry.

To add a stage: a :class:`Stage` (name, how to read the entry, which errors mean "damaged") and
a function that calls :func:`run_stage` with the record's fields and the upstream keys.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from rshw.errors import OptionError
from rshw.pipeline import runcache
from rshw.pipeline.plan import AccuracyRecord, DataRecord, ModelRecord
from simulators.activity import Activity, ActivityError
from simulators.files import atomic_write_text
from simulators.ir import Graph, GraphError
from simulators.report import Report

CACHE_VERSION = 3
CODE_PACKAGES = ("rshw", "simulators")


@cache
def code_hash() -> str:
    """One hash of every ``.py`` and ``.toml`` file under the imported ``rshw`` and ``simulators``
    packages (relative path and bytes)."""
    import importlib

    h = hashlib.sha256()
    for package in CODE_PACKAGES:
        root = Path(importlib.import_module(package).__file__).parent
        files = sorted(
            p
            for p in root.rglob("*")
            if p.suffix in (".py", ".toml") and "__pycache__" not in p.parts
        )
        for path in files:
            h.update(f"{package}/{path.relative_to(root).as_posix()}".encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def key(stage: str, **inputs: Any) -> str:
    """The cache key of a stage's product: a short, stable hash of ``inputs`` (JSON-serialisable)
    and of the code, prefixed by the stage's name."""
    text = json.dumps(
        {"stage": stage, "version": CACHE_VERSION, "code": code_hash(), **inputs},
        sort_keys=True,
        default=str,
    )
    return f"{stage}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


class Infeasible(OptionError):
    """The network does not fit a design point (the hardware's declared error), where a command
    needs a report."""


@dataclass(frozen=True)
class Stage:
    """How a stage's cache entry (a folder) is read, and which errors mean it is damaged.
    ``reload``: the product refers to its files (an Activity), so it is read back from the
    published entry rather than kept from the build."""

    name: str
    load: Callable[[Path], Any]
    damage: tuple[type[Exception], ...]
    reload: bool = False


@dataclass
class Product:
    """A stage's value, its key, whether it came from the cache, and the seconds it took."""

    value: Any
    key: str
    cached: bool
    seconds: float


def run_stage(
    stage: Stage, inputs: dict[str, Any], build: Callable[[Path], Any], force: bool = False
) -> Product:
    """The product of ``stage`` for ``inputs``: from the cache when an intact entry exists and
    ``force`` is off; else ``build(folder)`` (which writes the entry into the private folder it is
    given and returns the value), published atomically."""
    name = key(stage.name, **inputs)
    folder = runcache.entry(name)
    start = time.perf_counter()
    if folder.is_dir() and not force:
        try:
            return Product(stage.load(folder), name, True, time.perf_counter() - start)
        except stage.damage as e:
            runcache.discard_damaged(folder, e)
    if force:
        runcache.discard(folder)
    with runcache.writing(folder) as tmp:
        tmp.mkdir()
        value = build(tmp)
    if stage.reload:
        value = stage.load(folder)
    return Product(value, name, False, time.perf_counter() - start)


def _json(name: str) -> Callable[[Path], Any]:
    return lambda folder: json.loads((folder / name).read_text())


FOLD = Stage("fold", lambda folder: Graph.load(folder / "graph.npz"), (GraphError,))
TRACE = Stage("trace", Activity.load, (ActivityError,), reload=True)
VERIFY = Stage("verify", _json("verify.json"), (ValueError, OSError))
SIMULATE = Stage(
    "simulate",
    lambda folder: _read_report(folder),
    (ValueError, KeyError, OSError),  # a cut CSV, unreadable JSON
)
ACCURACY = Stage("accuracy", _json("accuracy.json"), (ValueError, OSError))


@dataclass
class Folded:
    """The fold stage's product: the graph and what it came from. The torch network (for the
    verify stage) is rebuilt on demand, once per process, when the graph came from the cache."""

    record: ModelRecord
    product: Product
    prepared: Any = None  # rshw.pipeline.prepare.Prepared, once built
    say: Callable[[str], None] = field(default=print, repr=False)

    @property
    def graph(self) -> Graph:
        return self.product.value

    @property
    def key(self) -> str:
        return self.product.key

    @property
    def trained(self) -> bool | None:
        return self.graph.meta.get("source", {}).get("trained")

    @property
    def label(self) -> str:
        """Short provenance label for tables, figure titles and manifests."""
        if self.record.imported:
            return "imported (NIR)" if self.record.kind == "nir" else "imported"
        return "trained" if self.trained else "untrained"

    def network(self):
        """The torch network the graph was folded from: a zoo network, an imported framework
        module (None for its saved description), None for a NIR graph."""
        if self.record.kind == "nir":
            return None
        if self.prepared is None:
            self.prepared = _fold_network(self.record, self.say)
        return self.prepared.model


def _fold_network(record: ModelRecord, say, dtype: Any = np.float64):
    from rshw.pipeline import prepare

    return prepare.fold_network(record, dtype, say)


def fold(record: ModelRecord, force: bool = False, say=print, dtype: Any = np.float64) -> Folded:
    """The IR graph of ``record`` (float64 unless told), folded once and cached by the record
    alone (no image count: ``--images auto`` folds once)."""
    built: list = []

    def build(folder: Path) -> Graph:
        built.append(_fold_network(record, say, dtype))
        built[0].graph.save(folder / "graph.npz")
        return built[0].graph

    inputs = {"model": asdict(record), "dtype": np.dtype(dtype).name}
    product = run_stage(FOLD, inputs, build, force)
    folded = Folded(record, product, built[0] if built else None, say)
    if product.cached and record.stand_in:
        from rshw.pipeline.prepare import untrained_note

        cal = record.calibration
        say(untrained_note(record.name, record.variant, record.seed, cal.images, cal.dataset))
    return folded


@dataclass
class Images:
    """A :class:`DataRecord` with the split it draws from (loaded once by the caller)."""

    record: DataRecord
    split: Any  # rshw.data.ArrayDataset

    def inputs(self):
        """The exact (normalised) inputs the trace sees for this draw."""
        from rshw.data import make_loader

        subset = self.split.random_subset(self.record.images, self.record.seed)
        x, _ = next(iter(make_loader(subset, len(subset), shuffle=False, augment=False)))
        return x


def trace(
    graph: Graph, images: Images, force: bool = False, dtype: Any = np.float64, chunk: int = 16
) -> Product:
    """The spike activity of ``graph`` on the record's images (``chunk``: images per executor
    call, which changes nothing but memory)."""
    from rshw.pipeline.trace import trace as trace_graph

    data = images.record

    def build(folder: Path) -> None:
        trace_graph(graph, images.split, data.images, folder, chunk, dtype, seed=data.seed)

    inputs = {
        "graph": graph.fingerprint(),
        "meta": graph.meta,
        "data": asdict(data),
        "dtype": np.dtype(dtype).name,
    }
    return run_stage(TRACE, inputs, build, force)


def verify(folded: Folded, traced: Product, images: Images, force: bool = False) -> Product:
    """Whether the IR's traced spikes (float64) equal the torch model's (float64) on the same
    images: the folding is exact when not a single spike differs. An imported framework module
    is run by its framework's own forward; a NIR graph (or a module's saved description) has no
    model to compare with."""
    from rshw.importers.entry import verify_imported
    from rshw.pipeline.trace import torch_lif_activity

    def build(folder: Path) -> dict[str, Any]:
        model = folded.network()
        if folded.record.kind == "module":
            result = verify_imported(model, traced.value, images.inputs())
        elif model is None:
            result = {"verified": False, "reason": "imported graph: no torch model to compare with"}
        else:
            model = model.double().eval()
            raw, _, _ = torch_lif_activity(model, images.inputs().double())
            model.float()
            activity = traced.value
            differ = {
                n: int((activity.maps(n).swapaxes(0, 1) != s.astype(bool)).sum())
                for n, s in raw.items()
                if n in activity.edges
            }
            compared = int(sum(s.size for n, s in raw.items() if n in activity.edges))
            result = {
                "verified": sum(differ.values()) == 0,
                "spikes_compared": compared,
                "spikes_differing": sum(differ.values()),
                "layers_differing": [n for n, d in differ.items() if d],
            }
        if model is not None and not result["verified"]:
            raise RuntimeError(
                f"the folded network differs from the model it was folded from on the traced "
                f"images: {result}"
            )
        atomic_write_text(folder / "verify.json", json.dumps(result))
        return result

    return run_stage(VERIFY, {"fold": folded.key, "trace": traced.key}, build, force)


def hardware_inputs(run) -> dict[str, Any]:
    """A hardware run's part of a key: hardware, preset name and content hash, settings."""
    return {
        "hardware": run.hardware,
        "preset": run.preset_name,
        "preset_sha256": run.preset_sha256,
        "settings": run.settings,
    }


def simulate_key(run, trace_key: str) -> str:
    """The key of one hardware run on one trace (what a sweep point looks up)."""
    return key(SIMULATE.name, trace=trace_key, **hardware_inputs(run))


def simulate(run, folded: Folded, traced: Product, force: bool = False) -> Product:
    """One hardware run on a trace: its Report, or (a design point the network does not fit)
    ``{"infeasible": message}``."""

    def build(folder: Path) -> Report | dict[str, str]:
        try:
            report = run.simulate(folded.graph, traced.value)
        except run.infeasible as e:  # the hardware says the network does not fit: a result
            result = {"infeasible": str(e)}
            atomic_write_text(folder / "infeasible.json", json.dumps(result))
            return result
        report.frame["weights"] = folded.label
        report.save(folder, "report")
        return report

    return run_stage(SIMULATE, {"trace": traced.key, **hardware_inputs(run)}, build, force)


def _read_report(folder: Path) -> Report | dict[str, str]:
    if (folder / "infeasible.json").is_file():
        return json.loads((folder / "infeasible.json").read_text())
    return Report.load(folder, "report")


def accuracy(run, folded: Folded, record: AccuracyRecord, force: bool = False) -> Product:
    """The accuracy of the folded network as ``run``'s hardware computes it, on the record's test
    images (``{}`` for a hardware that reports no accuracy)."""
    from rshw.pipeline.hardware_accuracy import accuracy_arrays, point_accuracy

    def build(folder: Path) -> dict[str, Any]:
        if not run.reports_accuracy:
            result = {}
        else:
            x, labels, calibration = accuracy_arrays(record)
            result = point_accuracy(run, folded.graph, x, labels, calibration, record.data.seed)
        atomic_write_text(folder / "accuracy.json", json.dumps(result, default=_plain))
        return result

    inputs = {"fold": folded.key, "data": asdict(record), **hardware_inputs(run)}
    return run_stage(ACCURACY, inputs, build, force)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__}")
