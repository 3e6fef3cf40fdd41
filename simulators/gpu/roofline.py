"""Closed-form roofline of kernels: the baseline the SimPy model is checked and timed against.

Each kernel takes the longest of its math at the fitted tensor-core rate on every SM, its DRAM
bytes at the fitted DRAM rate and its L2 bytes at the L2 rate; kernels add up. It ignores what
the SimPy model adds (host launches, wave quantization, latency, per-SM ports), so it is a lower
bound of the simulated GPU time.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulators.gpu.cache import L2
from simulators.gpu.config import GpuConfig
from simulators.gpu.kernels import Op


def roofline_cycles(ops: Iterable[Op], config: GpuConfig) -> list[float]:
    """Lower-bound cycles of every kernel of ``ops``, in order."""
    spec, fit = config.spec, config.fit
    l2 = L2(spec)
    dram_rate = spec.dram_bytes_per_cycle * fit.stream_efficiency
    cycles = []
    for op in ops:
        for kernel in op.kernels:
            traffic = l2.traffic(kernel)
            math = 0.0
            if kernel.macs:
                rate = spec.tensor_macs_per_cycle(kernel.math) * fit.efficiency(kernel)
                math = kernel.macs / (rate * spec.sm_count)
            alu = kernel.alu_ops + kernel.indexed_elements * fit.broadcast_ops_per_element
            math += alu / (spec.fp32_fmas_per_cycle_per_sm * spec.sm_count)
            memory = max(
                traffic.dram_bytes / dram_rate,
                traffic.l2_bytes / spec.l2_bytes_per_cycle
                + traffic.l2_scattered_bytes / (spec.l2_bytes_per_cycle * fit.scattered_efficiency),
            )
            cycles.append(max(math, memory))
    return cycles
