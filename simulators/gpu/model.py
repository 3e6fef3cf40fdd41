"""``simulate(graph, activity, config) -> Report`` for the GPU-like chip.

Lowers the graph to the framework ops of one batch (:mod:`simulators.gpu.lowering`), runs them
through the SimPy host + stream + SM model (:mod:`simulators.gpu.engine`) and reports, per
layer, the work each unit did and its energy, plus the layer's share of the elapsed time with
the static energy spent in it. Rows are per inference (the batch's totals divided by the batch).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from simulators.activity import Activity
from simulators.gpu.config import DTYPE_BYTES, GpuConfig, load_config
from simulators.gpu.energy import board_pj, kernel_events, static_pj
from simulators.gpu.engine import Timeline, simulate_ops
from simulators.gpu.lowering import Settings, event_counts, lower
from simulators.gpu.per_image import layer_spans, model_error, price_images
from simulators.ir import Graph, static_input_policy
from simulators.report import Report

CALIBRATED_DTYPES = ("bf16", "fp32")  # the dtypes of the calibration files


def simulate(
    graph: Graph,
    activity: Activity | None = None,
    config: GpuConfig | str | Path = "h200",
    *,
    batch: int = 1,
    execution: str = "dense",
    dtype: str = "bf16",
    implementation: str = "eager",
    overrides: dict[str, Any] | None = None,
) -> Report:
    """Simulate one batch of ``batch`` images through ``graph`` on a GPU.

    ``config``: a preset name (:func:`preset_names`), a TOML path or a :class:`GpuConfig`;
    ``overrides`` replace any of its keys. ``execution``: ``"dense"`` (implicit-GEMM
    convolutions, batched matmuls for unshared layers) or ``"event"`` (event-driven accumulate
    of the recorded spikes; needs ``activity``). ``dtype``: bf16, fp16, fp32 (cuDNN takes TF32,
    cuBLAS FP32 cores, as PyTorch's defaults), tf32 or int8. ``implementation``: ``"eager"``
    (plain PyTorch, as calibrated) or ``"tuned"`` (fused kernels, CUDA-graph replay; see
    :mod:`simulators.gpu.lowering`)."""
    config = load_config(config, overrides)
    if activity is not None:
        activity.check_graph(graph)
    timesteps = activity.timesteps if activity is not None else int(graph.meta["timesteps"])
    settings = Settings(batch, timesteps, dtype, execution, implementation)
    ops = lower(graph, activity, config.spec, settings)
    timeline = simulate_ops(ops, config, graph_replay=implementation == "tuned")

    rows = _rows(timeline, config, batch)
    summary = _summary(graph, activity, timeline, rows, config, settings)
    per_image = None
    if activity is not None:
        event = execution == "event"
        per_image = price_images(graph, activity, timeline, config, batch, event)
    return Report.from_rows(
        rows,
        config={**config.as_dict(), "settings": settings.__dict__},
        summary=summary,
        per_image=per_image if per_image is not None else pd.DataFrame(),
        notes=[
            "per image: event-driven runs price each image by its own SOPs per layer (see "
            "simulators/gpu/per_image.py); dense runs do the same work for every image, so they "
            "give no per-image energy or latency: their uncertainty is summary.model_error_pct "
            "(rms latency error over the calibration timings; absent for uncalibrated presets)",
            f"static input: {static_input_policy(graph)}",
            "events, cycles and energy are per inference: the batch's totals divided by the batch",
            "stream/elapsed rows: each layer's share of the batch's elapsed time (host launches "
            "included; events = kernels launched, busy_cycles = GPU time of its kernels), energy "
            "= static power over that share; their cycles sum to the latency / batch",
            "energy_pj sums dynamic (per action) and static energy; summary.board_energy_pj "
            "(board power x time) is an upper bound reported beside it, not added",
            "efficiencies and host overheads are fitted (see config.fitted and docs/gpu.md); "
            f"host costs: {config.spec.host} (see config.sources.host; a projection is the "
            f"fit's host costs x host_slowdown = {config.spec.host_slowdown:g})",
        ],
    )


def _rows(timeline: Timeline, config: GpuConfig, batch: int) -> list[dict]:
    """Per layer: one row per unit and action (count, energy), then its share of the time."""
    hardware = f"gpu:{config.name}"
    work: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for run in timeline.runs:
        for component, event, count, pj in kernel_events(run, config):
            work[run.op.layer][(component, event)][0] += count
            work[run.op.layer][(component, event)][1] += pj
    rows = []
    for layer, (share, runs) in layer_spans(timeline).items():
        op = runs[0].op.op
        for (component, event), (count, pj) in work[layer].items():
            rows.append(_row(hardware, layer, op, component, event, count / batch, 0.0, pj / batch))
        elapsed = _row(
            hardware,
            layer,
            op,
            "stream",
            "elapsed",
            len(runs) / batch,
            share / batch,
            static_pj(share, config) / batch,
        )
        rows.append({**elapsed, "busy_cycles": sum(r.cycles for r in runs) / batch})
    return rows


def _row(hardware, layer, op, component, event, events, cycles, energy_pj) -> dict:
    return {
        "hardware": hardware,
        "layer": layer,
        "op": op,
        "step": -1,
        "component": component,
        "event": event,
        "events": events,
        "cycles": cycles,
        "energy_pj": energy_pj,
        "area_um2": 0.0,
    }


def _calibrated(settings: Settings) -> bool:
    """Whether the run is in the measured form: eager kernels at a measured dtype."""
    return settings.implementation == "eager" and settings.dtype in CALIBRATED_DTYPES


def _summary(graph, activity, timeline, rows, config: GpuConfig, settings: Settings) -> dict:
    batch = settings.batch
    seconds = timeline.elapsed / config.spec.clock_hz

    def total(event: str) -> float:
        return sum(r["events"] for r in rows if r["event"] == event)

    energy = sum(r["energy_pj"] for r in rows)
    static = sum(r["energy_pj"] for r in rows if r["component"] == "stream")
    gpu_busy = sum(run.cycles for run in timeline.runs)
    sops = 0.0
    if activity is not None and settings.execution == "event":
        images = batch * settings.timesteps
        sops = sum(
            event_counts(graph, node, activity, images)[1] / batch
            for node in graph
            if node.op in ("conv", "local", "linear") and node.attrs.get("binary_input")
        )
    return {
        "batch": batch,
        "timesteps": settings.timesteps,
        "latency_cycles": timeline.elapsed,
        "latency_s": seconds,
        "throughput_img_s": batch / seconds if seconds else 0.0,
        "gpu_busy_cycles": gpu_busy,
        "gpu_busy_fraction": gpu_busy / timeline.elapsed if timeline.elapsed else 0.0,
        "kernels": len(timeline.runs),
        "energy_pj": energy,
        "energy_static_pj": static,
        "energy_dynamic_pj": energy - static,
        "board_energy_pj": board_pj(timeline.elapsed, config) / batch,
        "dram_bytes": total("dram_read_byte") + total("dram_write_byte"),
        "l2_bytes": total("l2_byte"),
        "macs": sum(r["events"] for r in rows if r["event"].startswith("mac_")),
        "useful_macs": sum(run.kernel.useful_macs for run in timeline.runs) / batch,
        "sops": sops,
        "weight_bytes": sum(n.weight_count for n in graph) * DTYPE_BYTES[settings.dtype],
        **(model_error(config.name) if _calibrated(settings) else {}),
        "host": config.spec.host,
    }
