"""The framework ops (PyTorch calls) and kernels of one layer, as a plain implementation runs it.

Tensors are named so the L2 model can follow them from producer to consumer; ``n`` is the
number of images the kernel sees (batch x T merged into the batch dimension, or the batch alone
for layers whose input does not change over time). The calibration builds its layers from the
same functions as the network; ``F.conv2d`` is in :mod:`simulators.gpu.convolution`.
"""

from __future__ import annotations

import dataclasses

from simulators.gpu.config import DTYPE_BYTES, MATH, GpuSpec
from simulators.gpu.kernels import (
    ACCUMULATOR_BYTES,
    SECTOR_BYTES,
    Kernel,
    Op,
    Read,
    Write,
    compact,
    concat,
    elementwise,
    gather_copy,
    gemm,
    im2col,
    scatter_accumulate,
)

Shape = tuple[int, int]


def linear(
    layer: str, n: int, fin: int, fout: int, dtype: str, spec: GpuSpec, src: str, dst: str
) -> Op:
    """``F.linear`` through cuBLAS (bias fused in the epilogue)."""
    el = DTYPE_BYTES[dtype]
    kernel = gemm(
        "gemm",
        n,
        fout,
        fin,
        spec,
        MATH["matmul"][dtype],
        el,
        Read(src, n * fin * el, 0.0),
        Read(f"{layer}:weight", fin * fout * el, 0.0),
        Write(dst, n * fout * el, n * fout * el),
    )
    return Op(layer, "linear", "F.linear", "library", (kernel,))


def local(
    layer: str,
    n: int,
    cin: int,
    in_hw: Shape,
    cout: int,
    out_hw: Shape,
    kernel_hw: Shape,
    dtype: str,
    spec: GpuSpec,
    src: str,
    dst: str,
    bias: bool = False,
    restore_layout: bool = True,
) -> list[Op]:
    """A locally connected layer as PyTorch users write it: ``F.unfold`` (ATen launches one
    im2col kernel per sample), then ``torch.bmm`` over the L = Ho*Wo positions with one weight
    matrix ``[C_in*kh*kw, C_out]`` per position. bmm first copies the permuted columns into a
    contiguous ``[L, n, C_in*kh*kw]`` (a strided gather), and the result ``[L, n, C_out]`` is
    permuted back to NCHW for the next layer. Every weight is used by only ``n`` images."""
    el = DTYPE_BYTES[dtype]
    positions = out_hw[0] * out_hw[1]
    depth = cin * kernel_hw[0] * kernel_hw[1]
    cols = f"{layer}:cols"
    unfold = tuple(
        im2col("im2col", cin, in_hw, out_hw, kernel_hw, el, src, f"{cols}[{i}]") for i in range(n)
    )
    elements = n * depth * positions
    bmm = (
        # the sector holding a column's next positions is re-read after n*depth other reads
        gather_copy(
            "permute_contiguous", elements, el, cols, f"{cols}:lnk", 2 * SECTOR_BYTES * n * depth
        ),
        gemm(
            "batched_gemm",
            n,
            cout,
            depth,
            spec,
            MATH["matmul"][dtype],
            el,
            Read(f"{cols}:lnk", elements * el, 0.0),
            Read(f"{layer}:weight", positions * depth * cout * el, 0.0),
            Write(f"{dst}:lnc", positions * n * cout * el, positions * n * cout * el),
            batch=positions,
        ),
    )
    ops = [
        Op(layer, "local", "F.unfold", "op", unfold),
        Op(layer, "local", "torch.bmm", "library", bmm),
    ]
    if restore_layout:
        out = positions * n * cout
        copy = gather_copy(
            "permute_contiguous", out, el, f"{dst}:lnc", dst, 2 * SECTOR_BYTES * positions
        )
        ops.append(Op(layer, "local", "permute(1, 2, 0).contiguous", "op", (copy,)))
    if bias:
        add = bias_add(layer, n * cout * positions, cout, el, dst)
        ops.append(Op(layer, "local", "add bias", "op", (add,)))
    return ops


def local_implicit(
    layer: str,
    n: int,
    cin: int,
    in_hw: Shape,
    cout: int,
    out_hw: Shape,
    kernel_hw: Shape,
    dtype: str,
    spec: GpuSpec,
    src: str,
    dst: str,
    bias: bool = False,
) -> list[Op]:
    """The best a GPU can do for a locally connected layer (a custom kernel): one batched GEMM
    over positions that gathers each position's input window itself, like an implicit-GEMM
    convolution, and writes NCHW with the bias in its epilogue. No unfold, no copies; what is
    left is the unshared weights, every one streamed from DRAM for only ``n`` images."""
    el = DTYPE_BYTES[dtype]
    positions = out_hw[0] * out_hw[1]
    depth = cin * kernel_hw[0] * kernel_hw[1]
    out = n * cout * positions * el
    kernel = gemm(
        "implicit_batched_gemm",
        n,
        cout,
        depth,
        spec,
        MATH["matmul"][dtype],
        el,
        Read(src, n * cin * in_hw[0] * in_hw[1] * el, 0.0),
        Read(f"{layer}:weight", positions * depth * cout * el, 0.0),
        Write(dst, out, out),
        batch=positions,
    )
    return [Op(layer, "local", "local_implicit", "op", (kernel,))]


def event_accumulate(
    layer: str,
    op: str,
    in_elements: float,
    in_bytes: float,
    out_elements: float,
    channels: int,
    spikes: float,
    sops: float,
    weight_bytes: float,
    dtype: str,
    src: str,
    dst: str,
) -> Op:
    """Event-driven execution of a weighted layer on binary spikes (a custom op): compact the
    spike tensor into indices, initialise fp32 accumulators with the bias, then scatter each
    spike's fan-out weights into them. ``weight_bytes``: the distinct weight bytes the spikes
    touch (all of a shared kernel; only the active inputs' kernels of an unshared one)."""
    el = DTYPE_BYTES[dtype]
    init = elementwise(
        "fill_bias",
        out_elements,
        [(f"{layer}:bias", el, channels)],
        (dst, ACCUMULATOR_BYTES),
        broadcast=False,
    )
    kernels = (
        compact("compact_spikes", in_elements, in_bytes, spikes, src),
        init,
        scatter_accumulate(
            "scatter_accumulate",
            spikes,
            sops,
            el,
            f"{src}:events",
            Read(f"{layer}:weight", weight_bytes, 0.0),
            (dst, out_elements),
        ),
    )
    return Op(layer, op, "event_accumulate", "op", kernels)


def lif_loop(
    layer: str,
    elements: float,
    steps: int,
    dtype: str,
    src: str,
    src_bytes: float,
    dst: str,
    static_input: bool = False,
) -> list[Op]:
    """The multi-step LIF as a plain PyTorch loop (the calibration's ``lif_multistep``):
    ``u = tau*u*(1-o) + x[t]; o = (u >= v_th).to(dtype)``: six eager ops per step, two
    ``zeros_like`` before and one ``stack`` after. ``elements``: neurons x images per step."""
    el = DTYPE_BYTES[dtype]

    def op(call: str, reads: list[tuple[str, float]], out: tuple[str, float]) -> Op:
        kernel = elementwise(call, elements, [(t, b, elements) for t, b in reads], out)
        return Op(layer, "lif", call, "op", (kernel,))

    ops = [op("zeros_like", [], (f"{layer}:u-1", el)), op("zeros_like", [], (f"{layer}:o-1", el))]
    for t in range(steps):
        x = src if static_input else f"{src}[t{t}]"
        u, o = f"{layer}:u{t - 1}", f"{layer}:o{t - 1}"
        ops += [
            op("rsub", [(o, el)], (f"{layer}:1-o", el)),
            op("mul", [(u, el)], (f"{layer}:tau*u", el)),
            op("mul", [(f"{layer}:tau*u", el), (f"{layer}:1-o", el)], (f"{layer}:leak", el)),
            op("add", [(f"{layer}:leak", el), (x, src_bytes)], (f"{layer}:u{t}", el)),
            op("ge", [(f"{layer}:u{t}", el)], (f"{layer}:fired", 1)),
            op("to", [(f"{layer}:fired", 1)], (f"{layer}:o{t}", el)),
        ]
    stack = concat("stack", [(f"{layer}:o{t}", elements) for t in range(steps)], el, dst)
    return [*ops, Op(layer, "lif", "stack", "op", (stack,))]


def lif_fused(
    layer: str,
    elements: float,
    steps: int,
    dtype: str,
    src: str,
    src_bytes: float,
    dst: str,
    static_input: bool = False,
) -> list[Op]:
    """The multi-step LIF as one fused kernel (SpikingJelly's CuPy backend, torch.compile):
    the membrane stays in registers across the T steps."""
    el = DTYPE_BYTES[dtype]
    read = elements if static_input else steps * elements
    kernel = elementwise(
        "lif_fused", steps * elements, [(src, src_bytes, read)], (dst, el), 4, broadcast=False
    )
    return [Op(layer, "lif", "lif_fused", "op", (kernel,))]


def pointwise(
    layer: str,
    op: str,
    call: str,
    out_elements: float,
    reads: list[tuple[str, float, float]],
    dst: str,
    out_bytes: float,
    broadcast: bool | None = None,
) -> Op:
    """One elementwise or reduction op (add, scale, pooling, mean over time); ``broadcast``
    as in :func:`elementwise` (``False``: a generated kernel indexes statically)."""
    elements = max([out_elements, *(distinct for _, _, distinct in reads)])
    kernel = elementwise(call, elements, reads, (dst, out_bytes), broadcast=broadcast)
    if elements != out_elements:  # a reduction writes fewer elements than it reads
        out = out_elements * out_bytes
        kernel = dataclasses.replace(kernel, writes=(Write(dst, out, out),))
    return Op(layer, op, call, "op", (kernel,))


def bias_add(layer: str, elements: float, channels: int, el: float, dst: str) -> Kernel:
    """PyTorch's broadcast add of a per-channel bias, in place."""
    return elementwise(
        "add_bias", elements, [(dst, el, elements), (f"{layer}:bias", el, channels)], (dst, el)
    )
