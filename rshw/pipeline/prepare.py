"""The fold stage's work: from a :class:`~rshw.pipeline.plan.ModelRecord` to an IR graph (its
checkpoint, a NIR file, an imported SpikingJelly / snnTorch module, or an untrained,
BatchNorm-calibrated stand-in that is labelled as such everywhere). Which checkpoint is decided
once, in :mod:`rshw.pipeline.plan`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rshw.data import ArrayDataset
from rshw.importers.entry import prepare_imported
from rshw.models import create_model
from rshw.pipeline.plan import STAND_IN_CALIBRATION, ModelRecord
from rshw.pipeline.reparam import reparameterize
from rshw.training.calibrate import calibrate_batchnorm
from rshw.training.checkpoint import exists, load_checkpoint
from rshw.training.realspike import realspike_parameters
from simulators.ir import Graph

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"
"""Trained checkpoints shipped with the package: ``<model>-<dataset>-<variant>.safetensors`` +
``.json`` (+ ``.metrics.csv``, the training log)."""


@dataclass
class Prepared:
    """A graph ready to trace, with what it came from."""

    graph: Graph
    model: torch.nn.Module | None
    trained: bool | None  # None: imported (NIR file or framework module), unknown
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Short provenance label for tables, figure titles and manifests."""
        if self.trained is None:
            return "imported (NIR)" if "nir" in self.source else "imported"
        return "trained" if self.trained else "untrained"


def untrained_note(model: str, variant: str, seed: int, calibrate: int, dataset: str) -> str:
    """The one line that says a run uses an untrained stand-in."""
    return (
        f"no trained checkpoint for {model}/{variant}: using random weights (seed {seed}) "
        f"and Real Spike a ~ U[0.5, 1.5), BatchNorm calibrated on {calibrate} {dataset} images "
        "-- UNTRAINED"
    )


def random_realspike(net: torch.nn.Module, seed: int) -> None:
    """Draw every Real Spike ``a`` uniform in [0.5, 1.5) (seeded): an untrained stand-in with all
    ``a = 1`` would make the layer, channel and element variants the same network."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for a in realspike_parameters(net):
            a.copy_(torch.rand(a.shape, generator=g) + 0.5)


def shipped_name(model: str, dataset: str, variant: str) -> str:
    """``<model>-<dataset>-<variant>``; a dataset's embedded sample (``cifar10-sample``) shares
    the full dataset's checkpoints."""
    return f"{model}-{dataset.removesuffix('-sample')}-{variant}"


def shipped_checkpoint(model: str, variant: str, dataset: str) -> Path | None:
    """The checkpoint shipped for this model, dataset and variant, if any."""
    stem = SHIPPED / shipped_name(model, dataset, variant)
    return stem if exists(stem) else None


def prepare(
    model: str,
    variant: str,
    calibration: ArrayDataset,
    checkpoint: str | None = None,
    timesteps: int = 4,
    seed: int = 0,
    calibrate: int = STAND_IN_CALIBRATION,
    dtype: Any = np.float32,
    dt: float | None = None,
    say=print,
    sew: str | None = None,
) -> Prepared:
    """Resolve (:func:`rshw.pipeline.plan.resolve_model`) and fold in one call, for scripts that
    need the network but no cache: ``calibration`` names the dataset (and its folder) the
    network is for; ``sew``: an imported module's SEW ADD policy."""
    from rshw.pipeline.plan import resolve_model

    record = resolve_model(
        model,
        variant,
        calibration.name,
        None,
        checkpoint,
        timesteps,
        seed,
        dt,
        calibration_images=calibrate,
        say=say,
        train=calibration,
        sew=sew,
    )
    return fold_network(record, dtype, say, calibration)


def fold_network(
    record: ModelRecord, dtype: Any = np.float64, say=print, calibration: ArrayDataset | None = None
) -> Prepared:
    """Build the torch network a :class:`~rshw.pipeline.plan.ModelRecord` names and fold it into
    the IR (a ``.nir`` file is read instead; a SpikingJelly / snnTorch module or its description
    is lowered by :mod:`rshw.importers`): the record's checkpoint, else random weights
    (``seed``) with random Real Spike ``a`` and BatchNorm statistics calibrated on the record's
    calibration images, announced in one line through ``say`` and labelled untrained.
    ``calibration``: the calibration split, when the caller has it loaded already."""
    if record.kind == "module":
        prep = prepare_imported(
            record.name,
            record.checkpoint,
            record.input_shape,
            record.timesteps,
            dtype,
            record.sew,
        )
        prep.graph.meta["static_input"] = record.static_input
        return prep
    if record.kind == "nir":
        from simulators.nir_io import read_nir

        graph = read_nir(record.name, dt=record.dt, timesteps=record.timesteps)
        graph.meta["static_input"] = record.static_input
        return Prepared(graph, None, None, {"nir": str(Path(record.name).resolve())})
    if record.checkpoint is not None:
        net, meta = load_checkpoint(record.checkpoint)
        source = {
            "checkpoint": record.checkpoint,
            "test_acc": meta.get("test_acc_shipped", meta.get("test_acc")),  # fp16 copy: its own
            "epoch": meta.get("epoch"),
            "dataset": meta.get("dataset"),
        }
        trained = True
    else:
        cal = record.calibration
        if calibration is None:
            from rshw.pipeline.plan import load_split

            calibration = load_split(cal.dataset, cal.data, cal.split, record.timesteps)
        torch.manual_seed(record.seed)
        net = create_model(
            record.name,
            realspike=record.variant,
            timesteps=record.timesteps,
            num_classes=calibration.num_classes,
            in_channels=calibration.in_channels,
            input_size=calibration.input_size,
        )
        random_realspike(net, record.seed)
        calibrate_batchnorm(net, calibration, cal.images, seed=record.seed)
        say(untrained_note(record.name, record.variant, record.seed, cal.images, cal.dataset))
        source = {
            "checkpoint": None,
            "seed": record.seed,
            "realspike_a": "uniform [0.5, 1.5), seeded",
            "calibration": {
                "dataset": cal.dataset,
                "source": cal.source,
                "samples": cal.images,
            },
        }
        trained = False
    graph = reparameterize(net.eval(), dtype)
    graph.meta["source"] = {**source, "trained": trained}
    graph.meta["static_input"] = record.static_input
    return Prepared(graph, net, trained, source)
