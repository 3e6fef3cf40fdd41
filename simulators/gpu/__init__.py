"""GPU-like chip: datasheet presets plus fitted factors, kernels as PyTorch/cuDNN/cuBLAS launch
them (dense, event-driven, unshared), and a SimPy model of host, stream, SMs, L2 and DRAM."""

from simulators.gpu.components import COMPONENT_CATEGORIES
from simulators.gpu.config import DTYPE_BYTES, PRESETS, GpuConfig, load_config, preset_names
from simulators.gpu.lowering import EXECUTIONS, IMPLEMENTATIONS
from simulators.gpu.model import simulate

OPTIONS = {
    "batch": (int, None, "images per batch (1: latency; 64: throughput)"),
    "execution": (str, EXECUTIONS, "dense kernels, or event-driven accumulate of the spikes"),
    "dtype": (str, tuple(DTYPE_BYTES), "arithmetic data type"),
    "implementation": (str, IMPLEMENTATIONS, "eager PyTorch (calibrated) or tuned (not)"),
}
"""Run options of :func:`simulate` (hardware protocol): name -> (type, allowed or None, help)."""

# What this hardware declares to the registry (simulators/registry.py).
DEFAULT_PRESET = "h200"
DEFAULT_SETTINGS = {"batch": [1, 64]}
"""The GPU at batch 1 (latency-bound, mostly idle) and at a throughput batch, since either alone
misrepresents it."""
CALIBRATED = {"h200": {"implementation": ("eager",), "dtype": ("bf16", "fp32")}}
"""Preset -> the values of each run option (the first: its ``simulate`` default) under which it
was fitted to measurements (the H200 timings at bf16 and float32). Any other setting (another
preset, the "tuned" kernels, an unmeasured dtype) is an uncalibrated projection, and every table
says so."""
INFEASIBLE: tuple = ()
COMPARED = ("h200", "orin")  # a datacenter and an embedded GPU
NOTES = {
    "batch": "gpu batch=N: energy per image (event-driven: each image's own spikes priced; dense: "
    "the batch's / N); latency of the whole batch"
}


def accuracy(graph, config, options, x, labels, calibration, seed=0) -> dict:
    """Accuracy of the network computed in the run's ``dtype`` (default bf16; integer scales from
    ``calibration``) on ``x``, against ``labels`` (deterministic: ``seed`` is unused)."""
    from simulators import executor
    from simulators.cim.functional_accuracy import evaluate
    from simulators.gpu import precision

    emulated = precision.Precision(graph, options.get("dtype", "bf16"), calibration)
    return evaluate(graph, lambda b: executor.run(graph, b, apply=emulated.apply), x, labels)


__all__ = [
    "CALIBRATED",
    "COMPARED",
    "COMPONENT_CATEGORIES",
    "DEFAULT_PRESET",
    "DEFAULT_SETTINGS",
    "INFEASIBLE",
    "NOTES",
    "OPTIONS",
    "PRESETS",
    "GpuConfig",
    "accuracy",
    "load_config",
    "preset_names",
    "simulate",
]
