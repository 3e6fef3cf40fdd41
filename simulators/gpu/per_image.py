"""What each traced image costs on the GPU, and how sure the model is of the batch's numbers.

- **Dense execution** does the same work for every image (its kernels do not look at the data):
  the model gives no per-image energy or latency, so no table can show a spread of 0 that was
  never measured. Its uncertainty is the model error against real timings,
  :func:`model_error` (a separate summary key, never an interval over images).
- **Event-driven execution** prices each image by its own spikes: the scatter kernel of an
  event layer does one synaptic operation per (spike, fan-out) pair, so image ``i`` is charged
  ``r_iL = SOPs_iL / mean SOPs_L`` times the batch's per-image share of that kernel's dynamic
  energy, and of the layer's static energy and elapsed time in proportion to the fraction of the
  layer's elapsed share the scatter kernel ran. Everything else (compaction, bias fill, LIF,
  host launches) is the same for every image. The mean of ``r_iL`` over the traced images is 1,
  so the per-image energies of a batch made of the traced images sum to the batch's.
"""

from __future__ import annotations

import functools
from collections import defaultdict

import numpy as np
import pandas as pd

from simulators.activity import Activity
from simulators.gpu.config import GpuConfig
from simulators.gpu.energy import kernel_events, static_pj
from simulators.gpu.engine import Timeline
from simulators.ir import Graph
from simulators.per_image import activity_per_image, sample_sops

SOP_KERNELS = ("scatter_accumulate",)
"""Kernels whose work is one step per synaptic operation (see :func:`layers.event_accumulate`)."""


def sop_ratios(graph: Graph, activity: Activity) -> dict[str, np.ndarray]:
    """Per event-capable layer, each image's SOPs over the mean image's ``[samples]`` (1 where
    no image spikes into the layer)."""
    out = {}
    for layer, sops in sample_sops(graph, activity).items():
        per_image = sops.sum(1)
        mean = per_image.mean() if len(per_image) else 0.0
        out[layer] = per_image / mean if mean > 0 else np.ones_like(per_image)
    return out


def price_images(
    graph: Graph,
    activity: Activity,
    timeline: Timeline,
    config: GpuConfig,
    batch: int,
    event: bool,
) -> pd.DataFrame:
    """One row per traced image: ``image``, ``sops``, ``firing_rate``, and for event-driven runs
    ``energy_pj`` and ``latency_s`` of that image (see the module docstring)."""
    frame = activity_per_image(graph, activity)
    if not event:
        return frame
    ratios = sop_ratios(graph, activity)
    spans = layer_spans(timeline)
    energy = np.zeros(activity.samples)
    latency_cycles = np.zeros(activity.samples)
    for layer, (share, runs) in spans.items():
        dynamic = sum(pj for run in runs for *_, pj in kernel_events(run, config))
        scatter = [run for run in runs if run.kernel.name in SOP_KERNELS]
        ratio = ratios.get(layer) if scatter else None
        if ratio is None:
            energy += (dynamic + static_pj(share, config)) / batch
            latency_cycles += share
            continue
        scatter_pj = sum(pj for run in scatter for *_, pj in kernel_events(run, config))
        fraction = min(1.0, sum(run.cycles for run in scatter) / share) if share else 0.0
        scaled = 1 - fraction + fraction * ratio
        energy += ((dynamic - scatter_pj) + scatter_pj * ratio) / batch
        energy += static_pj(share, config) / batch * scaled
        latency_cycles += share * scaled
    frame.insert(1, "energy_pj", energy)
    frame.insert(2, "latency_s", latency_cycles / config.spec.clock_hz)
    return frame


def layer_spans(timeline: Timeline) -> dict[str, tuple[float, list]]:
    """Per layer in program order: its share of the elapsed cycles (from the previous layer's
    last kernel end to its own; the last layer runs to the end) and its kernel runs."""
    runs_of: dict[str, list] = defaultdict(list)
    for run in timeline.runs:
        runs_of[run.op.layer].append(run)
    spans, previous = {}, 0.0
    for i, (layer, runs) in enumerate(runs_of.items()):
        end = timeline.elapsed if i == len(runs_of) - 1 else runs[-1].end
        spans[layer], previous = (end - previous, runs), end
    return spans


CALIBRATED_PRESETS = ("h200",)
"""Presets fitted to their own GPU's timings (:data:`calibration.DEFAULT_FILES`); the others
borrow a fit and have no measured error."""


@functools.lru_cache(maxsize=8)
def model_error(preset: str) -> dict[str, float]:
    """A calibrated preset's latency error on the layer timings it was fitted to (convolutions,
    LIF loops, linears; not the copy/matmul/tiny-op ceilings): rms and worst relative error in
    percent (energy was not measured); empty for the other presets."""
    from simulators.gpu import calibration

    if preset not in CALIBRATED_PRESETS:
        return {}
    frame = calibration.predict(calibration.load_records(), preset)
    frame = frame[frame.layer != "ceiling"]
    relative = np.abs(frame.error.to_numpy())
    return {
        "model_error_pct": float(100 * np.sqrt(np.mean(relative**2))),
        "model_error_worst_pct": float(100 * relative.max()),
    }
