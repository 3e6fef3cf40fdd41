"""Accuracy of a network as a hardware model computes it, beside the ideal network's: the
accuracy half of a design point (energy, latency, area, accuracy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from simulators import executor
from simulators.ir import Graph

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile
# bytes the kept spikes of one batch may take, per network run (float32, every LIF, every step):
# scnn keeps 500 MNIST images a batch, ResNet19 on CIFAR-10 (1.5 M neurons x 4 steps) 44
KEPT_BYTES = 1 << 30
MOST_IMAGES = 500


def images_per_batch(graph: Graph, budget: int = KEPT_BYTES) -> int:
    """Images run at once: as many as keep every LIF's spikes within ``budget`` bytes, at most
    ``MOST_IMAGES``. What a batch holds changes no result, only the memory it takes."""
    steps = int(graph.meta.get("timesteps", 1) or 1)
    per_image = 4 * steps * sum(int(np.prod(n.shape)) for n in graph if n.op == "lif")
    return int(max(1, min(MOST_IMAGES, budget // max(per_image, 1))))


def wilson_interval(correct: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``correct / total`` (95 % by default)."""
    if total < 1:
        raise ValueError("a proportion needs at least one trial (total >= 1)")
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    # at p = 0 or 1 one end equals p in exact arithmetic; rounding must not put p outside
    return float(min(p, max(0.0, centre - half))), float(max(p, min(1.0, centre + half)))


def evaluate(
    graph: Graph,
    run: Callable[[np.ndarray], dict[str, np.ndarray]],
    x: np.ndarray,
    labels: np.ndarray,
    batch: int | None = None,
    ideal: list[dict[str, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Accuracy (with its Wilson 95 % interval) of ``run`` (inputs → every LIF's spikes and the
    logits, as :func:`simulators.executor.run`) on ``x``, the ideal executor's accuracy, and
    the fraction of spikes per LIF layer that differ from the ideal network's. ``ideal``: the
    ideal outputs of each batch (:func:`ideal_outputs`, same ``batch``), to compute them once
    for many runs. ``batch``: images at once (default :func:`images_per_batch`)."""
    batch = batch or images_per_batch(graph)
    lifs = [n.name for n in graph if n.op == "lif"]
    out = graph.output.name
    correct = ideal_correct = 0
    differing = dict.fromkeys(lifs, 0)
    counted = dict.fromkeys(lifs, 0)
    for k, s in enumerate(range(0, len(x), batch)):
        got = run(x[s : s + batch])
        reference = ideal[k] if ideal is not None else executor.run(graph, x[s : s + batch])
        truth = labels[s : s + batch]
        correct += int((got[out].argmax(1) == truth).sum())
        ideal_correct += int((reference[out].argmax(1) == truth).sum())
        for name in lifs:
            differing[name] += int((got[name] != reference[name]).sum())
            counted[name] += got[name].size
    low, high = wilson_interval(correct, len(x))
    return {
        "images": len(x),
        "accuracy": correct / len(x),
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
        "ideal_accuracy": ideal_correct / len(x),
        "spike_mismatch": {n: differing[n] / counted[n] for n in lifs},
    }


def ideal_outputs(
    graph: Graph, x: np.ndarray, batch: int | None = None
) -> list[dict[str, np.ndarray]]:
    """The ideal executor's LIF spikes (bool) and logits, batch by batch, for :func:`evaluate`."""
    batch = batch or images_per_batch(graph)
    return [
        {k: v.astype(bool) if k != graph.output.name else v for k, v in out.items()}
        for out in (executor.run(graph, x[s : s + batch]) for s in range(0, len(x), batch))
    ]
