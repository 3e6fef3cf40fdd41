"""What ``F.conv2d`` runs through cuDNN, per dtype and layout: which kernels, over how many bytes.

cuDNN's choices, as the sources below describe them:

- **Tensor-core implicit GEMM on NCHW tensors, fp16/bf16.** Tensor-core convolution kernels
  need NHWC; with PyTorch's default NCHW tensors cuDNN transposes the filter (KCRS → KRSC) and
  the input (NCHW → NHWC) before the GEMM and the output back after it (NVIDIA, "Convolutional
  Layers User's Guide", section Tensor Layout: "NCHW layouts can still be operated on by Tensor
  Cores, but include some overhead due to automatic transpose operations"; profiles list
  ``nchwToNhwcKernel`` / ``genericTranspose_kernel`` around the GEMM, e.g.
  tensorflow/tensorflow#15897, pytorch/pytorch#54324). Some cuDNN kernels write NCHW from their
  epilogue instead; the H200 file says its kernels did not: without the output transpose the
  bf16 shared convolutions come out up to 18% fast even after a refit (l1conv, l2sc1x1).
- **fp32 (TF32 tensor cores, PyTorch's default ``cudnn.allow_tf32``) transposes its inputs but
  writes NCHW from the epilogue.** cuDNN's TF32 forward kernels are named
  ``sm80_xmma_fprop_implicit_gemm_tf32f32_tf32f32_f32_nhwckrsc_nchw_*`` in Nsight/PyTorch profiles
  of float32 convolutions: activations NHWC, filter KRSC, output NCHW. So an NCHW float32
  convolution pays the filter and input transposes, at 4 bytes an element, and no output
  transpose. The held-out H200 float32 file (never fitted to when this rule was chosen) says so:
  reading NCHW natively (no transposes) predicted its shared convolutions 0.4-0.95x of the
  measured time, all three transposes 1.1-1.2x, input and filter only 0.92-1.07x.
- **The GEMM reads what the convolution needs; a transpose moves the whole tensor.** A 1×1
  convolution of stride s reads one input pixel in s², so its implicit GEMM reads a quarter of
  the input at s = 2. The layout transform runs before the GEMM over the whole tensor: the H200
  file's 1×1 stride-2 shortcuts take 75% (l2) and 59% (l3) of their 3×3 stride-2 neighbours' time,
  which a quarter-size transpose predicts 22% fast before any refit.
- **Few input channels (the 3-channel stem): a direct convolution on the CUDA cores.** Tensor-core
  kernels need C_in a multiple of 8 (NVIDIA, "Matrix Multiplication Background User's Guide",
  channel alignment); for C_in = 3 cuDNN picks a non-tensor-core kernel that works on NCHW and
  accumulates in fp32 whatever the storage type, so its time barely changes with dtype and
  grows linearly with the batch (no tile or wave quantization to absorb it). Its rate is the
  fitted ``direct_conv_efficiency`` of the FP32 CUDA-core peak.
"""

from __future__ import annotations

from simulators.gpu.config import DTYPE_BYTES, MATH, GpuSpec
from simulators.gpu.kernels import (
    ELEMENTWISE_THREADS,
    Kernel,
    Op,
    Read,
    Write,
    elementwise_ctas,
    gemm,
    transpose,
)
from simulators.gpu.layers import Shape, bias_add

TENSOR_CORE_CHANNEL_ALIGNMENT = 8  # C_in a multiple of this runs on tensor cores
# math units whose cuDNN kernels write NCHW from their epilogue (no output transpose; see above)
NCHW_EPILOGUE_MATH = {"tf32"}


def read_pixels(in_hw: Shape, out_hw: Shape, kernel_hw: Shape) -> int:
    """Input pixels per channel that some window reads: per axis the union of the windows,
    ``min(H_in, H_out * min(k, stride))`` (stride = H_in / H_out rounded)."""
    pixels = 1
    for size_in, size_out, k in zip(in_hw, out_hw, kernel_hw, strict=True):
        stride = max(1, round(size_in / size_out))
        pixels *= min(size_in, size_out * min(k, stride))
    return pixels


def uses_tensor_cores(cin: int) -> bool:
    return cin % TENSOR_CORE_CHANNEL_ALIGNMENT == 0


def conv(
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
    layout: str = "nchw",
    bias: bool = False,
) -> Op:
    """``F.conv2d`` as cuDNN runs it (see the module docstring): an implicit GEMM on tensor cores
    (M = n*Ho*Wo, N = C_out, K = C_in*kh*kw), with the filter and input transposed to NHWC where
    the dtype's kernels need it, or a direct convolution on the CUDA cores for few channels; the
    bias is a separate broadcast add."""
    el = DTYPE_BYTES[dtype]
    math_unit = MATH["conv"][dtype]
    in_elements = n * cin * in_hw[0] * in_hw[1]
    read_elements = n * cin * read_pixels(in_hw, out_hw, kernel_hw)
    out_elements = n * cout * out_hw[0] * out_hw[1]
    weights = cout * cin * kernel_hw[0] * kernel_hw[1]
    kernels: list[Kernel] = []
    if not uses_tensor_cores(cin):
        kernels.append(
            direct_conv(
                "direct_conv_fprop",
                out_elements,
                weights // cout,
                Read(src, read_elements * el, read_elements * el),
                Read(f"{layer}:weight", weights * el, 0.0),
                Write(dst, out_elements * el, out_elements * el),
            )
        )
    else:
        gemm_in, gemm_w, gemm_out = src, f"{layer}:weight", dst
        transposed = layout == "nchw"
        out_transposed = transposed and math_unit not in NCHW_EPILOGUE_MATH
        if transposed:
            gemm_in, gemm_w = f"{src}:nhwc", f"{layer}:weight:krsc"
            gemm_out = f"{dst}:nhwc" if out_transposed else dst
            kernels += [
                transpose("filter_kcrs_to_krsc", weights, el, f"{layer}:weight", gemm_w),
                transpose("nchw_to_nhwc", in_elements, el, src, gemm_in),
            ]
        kernels.append(
            gemm(
                "implicit_gemm_fprop",
                n * out_hw[0] * out_hw[1],
                cout,
                cin * kernel_hw[0] * kernel_hw[1],
                spec,
                math_unit,
                el,
                Read(gemm_in, read_elements * el, 0.0),
                Read(gemm_w, weights * el, 0.0),
                Write(gemm_out, out_elements * el, out_elements * el),
            )
        )
        if out_transposed:
            kernels.append(transpose("nhwc_to_nchw", out_elements, el, gemm_out, dst))
    if bias:
        kernels.append(bias_add(layer, out_elements, cout, el, dst))
    return Op(layer, "conv", "F.conv2d", "library", tuple(kernels))


def direct_conv(
    name: str, outputs: int, macs_per_output: int, x: Read, weight: Read, out: Write
) -> Kernel:
    """A direct convolution on the CUDA cores in fp32: a thread per output element, its window
    and weights from L2 (every input re-read by the k² windows that cover it)."""
    ctas = elementwise_ctas(outputs)
    macs = float(outputs * macs_per_output)
    return Kernel(
        name=name,
        ctas=ctas,
        threads=ELEMENTWISE_THREADS,
        regs_per_thread=64,
        math="fp32",
        mainloop="direct",
        macs=macs,
        useful_macs=macs,
        reads=(x, weight),
        writes=(out,),
    )
