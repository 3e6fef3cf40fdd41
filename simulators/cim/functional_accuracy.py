"""Accuracy of a network as a hardware model computes it, beside the ideal network's: the
accuracy half of a design point (energy, latency, area, accuracy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from simulators import executor
from simulators.ir import Graph

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(correct: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``correct / total`` (95 % by default)."""
    if total < 1:
        raise ValueError("a proportion needs at least one trial (total >= 1)")
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return float(centre - half), float(centre + half)


def evaluate(
    graph: Graph,
    run: Callable[[np.ndarray], dict[str, np.ndarray]],
    x: np.ndarray,
    labels: np.ndarray,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Accuracy (with its Wilson 95 % interval) of ``run`` (inputs → every LIF's spikes and the
    logits, as :func:`simulators.executor.run`) on ``x``, the ideal executor's accuracy, and
    the fraction of spikes per LIF layer that differ from the ideal network's."""
    lifs = [n.name for n in graph if n.op == "lif"]
    out = graph.output.name
    correct = ideal_correct = 0
    differing = dict.fromkeys(lifs, 0)
    counted = dict.fromkeys(lifs, 0)
    for s in range(0, len(x), batch):
        got, ideal = run(x[s : s + batch]), executor.run(graph, x[s : s + batch])
        truth = labels[s : s + batch]
        correct += int((got[out].argmax(1) == truth).sum())
        ideal_correct += int((ideal[out].argmax(1) == truth).sum())
        for name in lifs:
            differing[name] += int((got[name] != ideal[name]).sum())
            counted[name] += got[name].size
        if progress:
            progress(len(truth))
    low, high = wilson_interval(correct, len(x))
    return {
        "images": len(x),
        "accuracy": correct / len(x),
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
        "ideal_accuracy": ideal_correct / len(x),
        "spike_mismatch": {n: differing[n] / counted[n] for n in lifs},
    }
