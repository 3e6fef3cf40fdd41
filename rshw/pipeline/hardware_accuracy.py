"""The accuracy stage's work: the network's accuracy as a hardware model computes it (the
functional crossbar for a CIM config, the dtype emulation for a GPU: each package's declared
``accuracy``), on the test images of an :class:`~rshw.pipeline.plan.AccuracyRecord`. Pairs with
:func:`rshw.pipeline.hardware.headline` so a design point is (energy, latency, area, accuracy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rshw.pipeline.plan import AccuracyRecord, load_split
from simulators.ir import Graph


def normalized_arrays(dataset, images: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The normalised inputs and labels of ``images`` samples drawn with ``seed`` (as traced)."""
    from rshw.data import make_loader

    xs, ys = [], []
    for x, y in make_loader(dataset.random_subset(images, seed), 1000, False, False):
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def accuracy_arrays(record: AccuracyRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test inputs and labels, and training inputs for input scales, as the record names them
    (both splits at the model's T)."""
    data = record.data
    test = load_split(data.dataset, data.data, data.split, data.timesteps)
    train = load_split(data.dataset, data.data, "train", data.timesteps)
    x, labels = normalized_arrays(test, data.images, data.seed)
    calibration, _ = normalized_arrays(train, record.calibration_images, data.seed)
    return x, labels, calibration


def point_accuracy(
    run, graph: Graph, x: np.ndarray, labels: np.ndarray, calibration: np.ndarray, seed: int = 0
) -> dict[str, Any]:
    """Accuracy columns of one design point on ``x`` (none for a hardware that computes no
    outputs)."""
    if not run.reports_accuracy:
        return {}
    result = run.accuracy(graph, x, labels, calibration, seed)
    mismatch = result.pop("spike_mismatch")
    return {
        **result,
        "top1_error_pct": 100 * (1 - result["accuracy"]),
        "mean_spike_mismatch": float(np.mean(list(mismatch.values()))),
    }
