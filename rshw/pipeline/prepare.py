"""From a user's choice of model to an IR graph: checkpoint, shipped checkpoint, NIR file, or an
untrained, BatchNorm-calibrated stand-in that is labelled as such everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rshw.data import ArrayDataset
from rshw.errors import OptionError
from rshw.importers.entry import is_import_spec, prepare_imported
from rshw.models import create_model, list_models
from rshw.pipeline.reparam import reparameterize
from rshw.training.calibrate import calibrate_batchnorm
from rshw.training.checkpoint import exists, load_checkpoint, read_metadata
from rshw.training.realspike import check_granularity, realspike_parameters
from simulators.ir import Graph

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"
"""Trained checkpoints shipped with the package: ``<model>-<dataset>-<variant>.safetensors`` +
``.json`` (+ ``.metrics.csv``, the training log)."""


@dataclass
class Prepared:
    """A graph ready to trace, with what it came from."""

    graph: Graph
    model: torch.nn.Module | None
    trained: bool | None  # None: imported from NIR, unknown
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
    calibrate: int = 64,
    dtype: Any = np.float32,
    dt: float | None = None,
    say=print,
    sew: str = "split",
) -> Prepared:
    """Build the IR graph for ``model`` (a zoo name or a ``.nir`` path) at Real Spike ``variant``.

    Order: an explicit ``checkpoint``; the shipped checkpoint for this model and variant (when it
    was trained at ``timesteps``; else one line says so); else
    random weights (``seed``) with BN statistics calibrated on ``calibrate`` images of
    ``calibration``, announced in one line through ``say`` and labelled untrained. 64 images give
    every BN channel at least 64 × T × 8 × 8 samples in ResNet19's last stage, plenty for a
    stand-in's statistics, and keep the calibration (a training-mode forward pass, the slowest
    step of a cold `rshw simulate`) to a quarter of what 256 cost. ``dt``: seconds per step of a
    ``.nir`` model (None: the file's recorded dt, else nir_io's default).
    """
    if is_import_spec(model):  # a SpikingJelly / snnTorch module or its description
        shape = (calibration.in_channels, *calibration.input_size)
        return prepare_imported(model, checkpoint, shape, timesteps, dtype, sew)
    if model.endswith(".nir"):
        from simulators.nir_io import read_nir

        graph = read_nir(model, dt=dt, timesteps=timesteps)
        return Prepared(graph, None, None, {"nir": str(Path(model).resolve())})
    if model not in list_models():
        raise OptionError(
            f"unknown model {model!r}; known models: {', '.join(list_models())} "
            "(or a path to a .nir file)"
        )
    check_granularity(variant)
    path = checkpoint or shipped_checkpoint(model, variant, calibration.name)
    if path is not None:  # the folded network runs at the T it was trained with
        trained_t = read_metadata(path)["model"]["timesteps"]
        if trained_t != timesteps and checkpoint is not None:
            raise OptionError(
                f"checkpoint {path} was trained with T={trained_t}, not the T={timesteps} "
                f"asked for: pass -T {trained_t} (the folded network runs at the T it was "
                "trained with)"
            )
        if trained_t != timesteps:  # a shipped one: another network than asked, so the stand-in
            say(
                f"the shipped checkpoint {path.name} was trained with T={trained_t}, not the "
                f"T={timesteps} asked for: pass -T {trained_t} to use it"
            )
            path = None
    if path is not None:
        net, meta = load_checkpoint(path)
        if meta["model"]["name"] != model or meta["model"]["realspike"] != variant:
            raise OptionError(
                f"checkpoint {path} holds {meta['model']['name']} with "
                f"realspike={meta['model']['realspike']}, not {model}/{variant}"
            )
        source = {
            "checkpoint": str(path),
            "test_acc": meta.get("test_acc_shipped", meta.get("test_acc")),  # fp16 copy: its own
            "epoch": meta.get("epoch"),
            "dataset": meta.get("dataset"),
        }
        trained = True
    else:
        torch.manual_seed(seed)
        net = create_model(
            model,
            realspike=variant,
            timesteps=timesteps,
            num_classes=calibration.num_classes,
            in_channels=calibration.in_channels,
            input_size=calibration.input_size,
        )
        random_realspike(net, seed)
        calibrate_batchnorm(net, calibration, calibrate, seed=seed)
        say(untrained_note(model, variant, seed, calibrate, calibration.name))
        source = {
            "checkpoint": None,
            "seed": seed,
            "realspike_a": "uniform [0.5, 1.5), seeded",
            "calibration": {
                "dataset": calibration.name,
                "source": calibration.source,
                "samples": calibrate,
            },
        }
        trained = False
    graph = reparameterize(net.eval(), dtype)
    graph.meta["source"] = {**source, "trained": trained}
    return Prepared(graph, net, trained, source)
