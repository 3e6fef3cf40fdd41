"""GPU-like chip: datasheet presets plus fitted factors, kernels as PyTorch/cuDNN/cuBLAS launch
them (dense, event-driven, unshared), and a SimPy model of host, stream, SMs, L2 and DRAM."""

from simulators.gpu.components import COMPONENT_CATEGORIES
from simulators.gpu.config import DTYPE_BYTES, GpuConfig, load_config, preset_names
from simulators.gpu.lowering import EXECUTIONS, IMPLEMENTATIONS
from simulators.gpu.model import simulate

OPTIONS = {
    "batch": (int, None, "images per batch (1: latency; 64: throughput)"),
    "execution": (str, EXECUTIONS, "dense kernels, or event-driven accumulate of the spikes"),
    "dtype": (str, tuple(DTYPE_BYTES), "arithmetic data type"),
    "implementation": (str, IMPLEMENTATIONS, "eager PyTorch (calibrated) or tuned (not)"),
}
"""Run options of :func:`simulate` (hardware protocol): name -> (type, allowed or None, help)."""

__all__ = [
    "COMPONENT_CATEGORIES",
    "OPTIONS",
    "GpuConfig",
    "load_config",
    "preset_names",
    "simulate",
]
