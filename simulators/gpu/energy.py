"""Energy of kernels: per-operation and per-byte energies, plus static power over time.

Dynamic energy counts what a kernel does (MACs on their unit, CUDA-core element operations,
shared-memory staging, L2 and DRAM bytes) times the preset's energy per action; static energy is
the preset's idle power over the elapsed time. The board-power figure (TDP x time) is an upper
bound reported beside it, never added to it.
"""

from __future__ import annotations

from simulators.gpu.config import GpuConfig
from simulators.gpu.engine import KernelRun

BITS_PER_BYTE = 8


def kernel_events(run: KernelRun, config: GpuConfig) -> list[tuple[str, str, float, float]]:
    """``(component, event, count, energy_pj)`` of one kernel's dynamic work."""
    spec, kernel, traffic = config.spec, run.kernel, run.traffic
    events = []
    if kernel.macs:
        events.append(("sm", f"mac_{kernel.math}", kernel.macs, spec.mac_pj(kernel.math)))
    alu = kernel.alu_ops + kernel.indexed_elements * config.fit.broadcast_ops_per_element
    if alu:
        events.append(("sm", "alu_op", alu, spec.fma_pj_fp32))
    events += [
        ("smem", "smem_byte", traffic.smem_bytes, BITS_PER_BYTE * spec.smem_pj_per_bit),
        ("l2", "l2_byte", traffic.l2_total_bytes, BITS_PER_BYTE * spec.l2_pj_per_bit),
        ("dram", "dram_read_byte", traffic.dram_read_bytes, BITS_PER_BYTE * spec.dram_pj_per_bit),
        ("dram", "dram_write_byte", traffic.dram_write_bytes, BITS_PER_BYTE * spec.dram_pj_per_bit),
    ]
    return [(c, e, n, n * pj) for c, e, n, pj in events if n]


def static_pj(cycles: float, config: GpuConfig) -> float:
    """Idle (static) power over ``cycles`` of the GPU clock."""
    return config.spec.static_w * cycles / config.spec.clock_hz * 1e12


def board_pj(cycles: float, config: GpuConfig) -> float:
    """Board power (TDP) over ``cycles``: what the GPU draws at most in that time."""
    return config.spec.board_w * cycles / config.spec.clock_hz * 1e12
