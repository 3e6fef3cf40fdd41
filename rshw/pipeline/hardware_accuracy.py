"""Accuracy as a hardware model computes: the functional crossbar for CIM configs, the dtype
emulation for GPUs. Pairs with :func:`rshw.pipeline.hardware.headline` so a design point is
(energy, latency, area, accuracy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from simulators import executor
from simulators.cim import functional
from simulators.cim.functional_accuracy import evaluate
from simulators.files import atomic_write_bytes
from simulators.gpu import precision
from simulators.ir import Graph


def normalized_arrays(dataset, images: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The normalised inputs and labels of ``images`` samples drawn with ``seed`` (as traced)."""
    from rshw.data import make_loader

    xs, ys = [], []
    for x, y in make_loader(dataset.random_subset(images, seed), 1000, False, False):
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def save_accuracy_inputs(
    path: Path, test, train, images: int, seed: int, calibration_images: int = 256
) -> str:
    """Test inputs, labels and calibration inputs (for input scales) in one ``.npz``."""
    import io

    x, labels = normalized_arrays(test, images, seed)
    calibration, _ = normalized_arrays(train, calibration_images, seed)
    buffer = io.BytesIO()
    np.savez(buffer, x=x, labels=labels, calibration=calibration)
    atomic_write_bytes(path, buffer.getvalue())
    return str(path.resolve())


def point_accuracy(
    kind: str, graph: Graph, config: Any, keywords: dict[str, Any], inputs: str
) -> dict[str, Any]:
    """Accuracy columns of one design point (none for the analytic model, which only counts)."""
    if kind == "analytic":
        return {}
    arrays = np.load(inputs)
    x, labels, calibration = arrays["x"], arrays["labels"], arrays["calibration"]
    read: dict[str, Any] = {}
    if kind == "cim":
        chip = functional.program(graph, config, calibration)
        result = evaluate(graph, lambda b: functional.run(chip, b), x, labels)
        read = {  # how the chip was read: what a calibrated range depends on
            "clip_fraction": chip.clip_fraction(),
            "calibration_sha256": chip.calibration_sha256,
            "adc_ranges_json": json.dumps(chip.adc_ranges()),
        }
    else:
        emulated = precision.Precision(graph, keywords.get("dtype", "bf16"), calibration)
        result = evaluate(graph, lambda b: executor.run(graph, b, apply=emulated.apply), x, labels)
    mismatch = result.pop("spike_mismatch")
    return {
        **result,
        "top1_error_pct": 100 * (1 - result["accuracy"]),
        "mean_spike_mismatch": float(np.mean(list(mismatch.values()))),
        **read,
    }
