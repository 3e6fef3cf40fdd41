"""GPU kernels as real implementations launch them: grid size, per-CTA resources, work and bytes.

A :class:`Kernel` is geometry only (how many CTAs, which tensors it reads and writes, how many
MACs on which unit); :mod:`simulators.gpu.cache` decides which bytes come from DRAM and
:mod:`simulators.gpu.engine` turns it into cycles. An :class:`Op` is one framework call (one
PyTorch op, cuDNN or cuBLAS call): the host pays its overhead once, then launches its kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulators.gpu.config import GpuSpec

SECTOR_BYTES = 32  # the unit of L2 requests on NVIDIA GPUs
ACCUMULATOR_BYTES = 4  # fp32 partial sums of the event-driven kernels
INDEX_BYTES = 4  # int32 spike indices
# CTA tiles (M x N) that cuDNN/CUTLASS/cuBLAS pick among for tensor-core GEMMs, largest first
GEMM_TILES = ((128, 256), (128, 128), (128, 64), (64, 64), (16, 64))
TILE_SLACK = 1.1  # a larger tile is kept unless a smaller one saves more than this factor
GEMM_K_STEP = {"bf16": 16, "fp16": 16, "tf32": 8, "int8": 32, "fp32": 1}  # MMA k granularity
GEMM_STAGES, GEMM_K_TILE = 3, 32  # shared-memory pipeline depth and k per stage
ELEMENTWISE_THREADS, ELEMENTS_PER_THREAD = 128, 4  # PyTorch's elementwise launch shape
IM2COL_THREADS = 1024  # ATen's im2col launch: one thread per (channel, output position)
SPIKES_PER_CTA = 8  # event-driven scatter: one warp per input spike, 8 warps per CTA


@dataclass(frozen=True)
class Read:
    """A tensor a kernel reads. ``bytes`` are the distinct bytes (what DRAM supplies when the
    tensor is not in L2); ``l2_bytes`` all bytes the CTAs request. A ``scattered`` read costs one
    32 B sector per element; its re-use of a sector needs ``reuse_bytes`` of L2 to hit."""

    tensor: str
    bytes: float
    l2_bytes: float
    scattered: bool = False
    elements: float = 0.0
    reuse_bytes: float = 0.0


@dataclass(frozen=True)
class Write:
    tensor: str
    bytes: float
    l2_bytes: float


@dataclass(frozen=True)
class Kernel:
    name: str
    ctas: int
    threads: int
    smem_bytes: int = 0
    regs_per_thread: int = 32
    math: str | None = None  # unit of the MACs: "bf16", "fp16", "tf32", "int8" or "fp32"
    mainloop: str = "gemm"  # "gemm" (tiled GEMM) or "direct" (direct convolution): its efficiency
    macs: float = 0.0  # MACs issued, padded tiles included
    useful_macs: float = 0.0
    alu_ops: float = 0.0  # CUDA-core element operations (elementwise math, SOP adds)
    indexed_elements: float = 0.0  # elements addressed through PyTorch's broadcast index math
    reads: tuple[Read, ...] = ()
    writes: tuple[Write, ...] = ()
    staged_bytes: float = 0.0  # operand bytes staged through shared memory (GEMM tiles)

    def occupancy(self, spec: GpuSpec) -> int:
        """Resident CTAs per SM, limited by threads, registers, shared memory and the CTA cap."""
        limits = [
            spec.max_ctas_per_sm,
            spec.max_threads_per_sm // self.threads,
            spec.register_file_kib_per_sm * 256 // (self.threads * self.regs_per_thread),
        ]
        if self.smem_bytes:
            limits.append(spec.shared_memory_kib_per_sm * 1024 // self.smem_bytes)
        return max(1, min(limits))


@dataclass(frozen=True)
class Op:
    """One framework call; ``host`` names the overhead it pays: ``"op"`` (eager op),
    ``"library"`` (cuDNN/cuBLAS call), or ``"view"`` (no kernel, no cost)."""

    layer: str
    op: str
    call: str
    host: str
    kernels: tuple[Kernel, ...] = ()


def _tile(m: int, n: int, batch: int, spec: GpuSpec) -> tuple[int, int]:
    """The largest tile whose busiest SM has at most ``TILE_SLACK`` times the least work any
    tile gives it (padding and wave quantization included), as a library heuristic would:
    large tiles load fewer operand bytes per MAC, small ones fill the SMs of a small grid."""

    def work(tile: tuple[int, int]) -> int:
        ctas = batch * math.ceil(m / tile[0]) * math.ceil(n / tile[1])
        return math.ceil(ctas / spec.sm_count) * tile[0] * tile[1]

    least = min(work(tile) for tile in GEMM_TILES)
    return next(tile for tile in GEMM_TILES if work(tile) <= TILE_SLACK * least)


def gemm(
    name: str,
    m: int,
    n: int,
    k: int,
    spec: GpuSpec,
    math_unit: str,
    element_bytes: float,
    a: Read,
    b: Read,
    out: Write,
    batch: int = 1,
) -> Kernel:
    """A (batched) GEMM ``[m, k] x [k, n]`` tiled over CTAs. ``a`` and ``b`` give the
    operands' distinct bytes; the L2 traffic of their tiles follows from the tiling here."""
    tm, tn = _tile(m, n, batch, spec)
    ctas = batch * math.ceil(m / tm) * math.ceil(n / tn)
    step = GEMM_K_STEP[math_unit]
    k_padded = math.ceil(k / step) * step
    a_l2 = ctas * tm * k * element_bytes
    b_l2 = ctas * tn * k * element_bytes
    return Kernel(
        name=name,
        ctas=ctas,
        threads=256,
        smem_bytes=int(GEMM_STAGES * (tm + tn) * GEMM_K_TILE * element_bytes),
        regs_per_thread=128,
        math=math_unit,
        macs=float(ctas * tm * tn * k_padded),
        useful_macs=float(batch * m * n * k),
        reads=(
            Read(a.tensor, a.bytes, a_l2, reuse_bytes=a.reuse_bytes),
            Read(b.tensor, b.bytes, b_l2),
        ),
        writes=(out,),
        staged_bytes=a_l2 + b_l2,
    )


def elementwise_ctas(elements: float) -> int:
    """CTAs of PyTorch's elementwise launch: 128 threads x 4 elements each, at least one."""
    return max(1, math.ceil(elements / (ELEMENTWISE_THREADS * ELEMENTS_PER_THREAD)))


def elementwise(
    name: str,
    elements: float,
    reads: list[tuple[str, float, float]],
    out: tuple[str, float],
    ops_per_element: float = 1.0,
    broadcast: bool | None = None,
) -> Kernel:
    """PyTorch's elementwise kernel: 128 threads x 4 elements per CTA. ``reads`` are
    ``(tensor, bytes per element, distinct elements)``: a broadcast operand has fewer distinct
    elements than the output (it is read once from DRAM and re-read from L2), and makes PyTorch
    leave its vectorized path for per-element index arithmetic (``broadcast`` overrides)."""
    if broadcast is None:
        broadcast = any(0 < distinct < elements for _, _, distinct in reads)
    return Kernel(
        name=name,
        ctas=elementwise_ctas(elements),
        threads=ELEMENTWISE_THREADS,
        regs_per_thread=32,
        alu_ops=elements * ops_per_element,
        indexed_elements=elements if broadcast else 0.0,
        reads=tuple(
            Read(tensor, distinct * size, elements * size) for tensor, size, distinct in reads
        ),
        writes=(Write(out[0], elements * out[1], elements * out[1]),),
    )


def concat(name: str, parts: list[tuple[str, float]], element_bytes: float, dst: str) -> Kernel:
    """ATen's ``cat``/``stack`` (its batched array copy): every part ``(tensor, elements)`` is
    read once, coalesced, into its slice of the output; no broadcast index arithmetic."""
    elements = sum(n for _, n in parts)
    return Kernel(
        name=name,
        ctas=elementwise_ctas(elements),
        threads=ELEMENTWISE_THREADS,
        reads=tuple(Read(t, n * element_bytes, n * element_bytes) for t, n in parts),
        writes=(Write(dst, elements * element_bytes, elements * element_bytes),),
    )


def transpose(name: str, elements: float, element_bytes: float, src: str, dst: str) -> Kernel:
    """A layout change (NCHW <-> NHWC) tiled through shared memory: coalesced on both sides."""
    size = elements * element_bytes
    return Kernel(
        name=name,
        ctas=elementwise_ctas(elements),
        threads=ELEMENTWISE_THREADS,
        smem_bytes=int(ELEMENTWISE_THREADS * ELEMENTS_PER_THREAD * element_bytes),
        reads=(Read(src, size, size),),
        writes=(Write(dst, size, size),),
        staged_bytes=2 * size,
    )


def gather_copy(
    name: str, elements: float, element_bytes: float, src: str, dst: str, reuse_bytes: float
) -> Kernel:
    """A permuting copy whose reads are strided: each element read is its own 32 B sector,
    and a sector's other elements are re-read later, from L2 only if ``reuse_bytes`` fit."""
    return Kernel(
        name=name,
        ctas=elementwise_ctas(elements),
        threads=ELEMENTWISE_THREADS,
        reads=(
            Read(
                src,
                elements * element_bytes,
                elements * SECTOR_BYTES,
                scattered=True,
                elements=elements,
                reuse_bytes=reuse_bytes,
            ),
        ),
        writes=(Write(dst, elements * element_bytes, elements * element_bytes),),
    )


def im2col(
    name: str,
    channels: int,
    in_hw: tuple[int, int],
    out_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    element_bytes: float,
    src: str,
    dst: str,
) -> Kernel:
    """ATen's im2col for one sample: a thread per (channel, output position) copies its
    window into the column matrix ``[C*kh*kw, Ho*Wo]``."""
    positions = out_hw[0] * out_hw[1]
    window = kernel_hw[0] * kernel_hw[1]
    cols = channels * window * positions * element_bytes
    return Kernel(
        name=name,
        ctas=max(1, math.ceil(channels * positions / IM2COL_THREADS)),
        threads=IM2COL_THREADS,
        regs_per_thread=32,
        reads=(Read(src, channels * in_hw[0] * in_hw[1] * element_bytes, cols),),
        writes=(Write(dst, cols, cols),),
    )


def compact(name: str, elements: float, element_bytes: float, spikes: float, src: str) -> Kernel:
    """Stream compaction of a spike tensor into a list of active-neuron indices."""
    size, index_bytes = elements * element_bytes, spikes * INDEX_BYTES
    return Kernel(
        name=name,
        ctas=elementwise_ctas(elements),
        threads=ELEMENTWISE_THREADS,
        alu_ops=elements,
        reads=(Read(src, size, size),),
        writes=(Write(f"{src}:events", index_bytes, index_bytes),),
    )


def scatter_accumulate(
    name: str,
    spikes: float,
    sops: float,
    element_bytes: float,
    events: str,
    weights: Read,
    accumulators: tuple[str, float],
) -> Kernel:
    """Event-driven accumulate: a warp per input spike gathers the spike's fan-out weights
    (rows of C_out, coalesced) and atomically adds them into fp32 accumulators in L2."""
    acc, acc_elements = accumulators
    acc_bytes = acc_elements * ACCUMULATOR_BYTES
    return Kernel(
        name=name,
        ctas=max(1, math.ceil(spikes / SPIKES_PER_CTA)),
        threads=32 * SPIKES_PER_CTA,
        regs_per_thread=32,
        alu_ops=sops,
        reads=(
            Read(events, spikes * INDEX_BYTES, spikes * INDEX_BYTES),
            Read(weights.tensor, weights.bytes, sops * element_bytes),
            Read(acc, acc_bytes, sops * ACCUMULATOR_BYTES),
        ),
        writes=(Write(acc, acc_bytes, sops * ACCUMULATOR_BYTES),),
    )
