"""GPU-like chip: datasheet presets plus fitted factors, kernels as PyTorch/cuDNN/cuBLAS launch
them (dense, event-driven, unshared), and a SimPy model of host, stream, SMs, L2 and DRAM."""

from simulators.gpu.config import GpuConfig, load_config, preset_names
from simulators.gpu.model import simulate

__all__ = ["GpuConfig", "load_config", "preset_names", "simulate"]
