"""What cuDNN runs for F.conv2d per dtype and layout, and the time the model gives it.

Expectations are derived by hand from the rules in simulators/gpu/convolution.py's docstring."""

import pytest

from simulators.gpu import load_config
from simulators.gpu.convolution import conv, read_pixels
from simulators.gpu.engine import simulate_ops

H200 = load_config("h200")


def kernels(dtype, cin=16, hw=(8, 8), out_hw=(8, 8), k=3, n=2, layout="nchw"):
    op = conv("c", n, cin, hw, 32, out_hw, (k, k), dtype, H200.spec, "x", "y", layout=layout)
    return {kernel.name: kernel for kernel in op.kernels}


@pytest.mark.parametrize(
    ("in_hw", "out_hw", "k", "pixels"),
    [((32, 32), (32, 32), 3, 1024), ((32, 32), (16, 16), 3, 1024), ((32, 32), (16, 16), 1, 256)],
)
def test_pixels_a_convolution_reads(in_hw, out_hw, k, pixels):
    assert read_pixels(in_hw, out_hw, (k, k)) == pixels


def test_bf16_on_nchw_transposes_filter_input_and_output():
    bf16 = kernels("bf16")
    names = ["filter_kcrs_to_krsc", "nchw_to_nhwc", "implicit_gemm_fprop", "nhwc_to_nchw"]
    assert list(bf16) == names
    assert bf16["filter_kcrs_to_krsc"].reads[0].bytes == 32 * 16 * 9 * 2
    assert bf16["nchw_to_nhwc"].reads[0].bytes == 2 * 16 * 64 * 2
    assert bf16["implicit_gemm_fprop"].writes[0].bytes == 2 * 32 * 64 * 2
    assert bf16["nhwc_to_nchw"].reads[0].bytes == 2 * 32 * 64 * 2
    assert list(kernels("bf16", layout="nhwc")) == ["implicit_gemm_fprop"]


def test_fp32_runs_tf32_nhwc_kernels_that_write_nchw_at_twice_the_bytes():
    """cuDNN's ``..._tf32f32_..._nhwckrsc_nchw`` kernels: filter and input transposed, the output
    written NCHW by the GEMM's epilogue (no third transpose); every tensor at 4 bytes."""
    fp32, bf16 = kernels("fp32"), kernels("bf16")
    assert list(fp32) == ["filter_kcrs_to_krsc", "nchw_to_nhwc", "implicit_gemm_fprop"]
    assert fp32["filter_kcrs_to_krsc"].reads[0].bytes == 32 * 16 * 9 * 4
    assert fp32["nchw_to_nhwc"].writes[0].bytes == 2 * 16 * 64 * 4
    gemm = fp32["implicit_gemm_fprop"]
    assert gemm.math == "tf32" and bf16["implicit_gemm_fprop"].math == "bf16"
    assert gemm.writes[0].tensor == "y" and gemm.writes[0].bytes == 2 * 32 * 64 * 4
    assert gemm.reads[0].tensor == "x:nhwc"
    for a, b in zip(gemm.reads, bf16["implicit_gemm_fprop"].reads, strict=True):
        assert a.bytes == 2 * b.bytes
    assert list(kernels("fp32", layout="nhwc")) == ["implicit_gemm_fprop"]


def test_a_1x1_stride_2_gemm_reads_a_quarter_of_its_input_the_transpose_all_of_it():
    bf16 = kernels("bf16", hw=(8, 8), out_hw=(4, 4), k=1)
    whole = 2 * 16 * 64 * 2
    assert bf16["nchw_to_nhwc"].reads[0].bytes == whole
    assert bf16["implicit_gemm_fprop"].reads[0].bytes == whole / 4
    fp32 = kernels("fp32", hw=(8, 8), out_hw=(4, 4), k=1)
    assert fp32["nchw_to_nhwc"].reads[0].bytes == 2 * whole
    assert fp32["implicit_gemm_fprop"].reads[0].bytes == 2 * whole / 4


def test_three_input_channels_run_a_direct_convolution_on_the_cuda_cores():
    for dtype in ("bf16", "fp16", "fp32"):
        stem = kernels(dtype, cin=3)
        assert list(stem) == ["direct_conv_fprop"]
        assert stem["direct_conv_fprop"].math == "fp32"
        assert stem["direct_conv_fprop"].mainloop == "direct"
        assert stem["direct_conv_fprop"].macs == 2 * 32 * 64 * 3 * 9


def test_direct_convolution_time_by_hand():
    """No host costs, tiny bytes: one round of CTAs, so the time is one memory latency plus a
    CTA's MACs at the FP32 rate times the fitted direct-conv efficiency."""
    config = load_config(
        "h200",
        {
            "op_overhead_us": 0.0,
            "library_overhead_us": 0.0,
            "launch_overhead_us": 0.0,
            "direct_conv_efficiency": 0.5,
        },
    )
    n, cout, hw = 1, 16, (8, 8)
    op = conv("stem", n, 3, hw, cout, hw, (3, 3), "bf16", config.spec, "x", "y")
    outputs = n * cout * 64  # 1024 outputs: 2 CTAs of 128 threads x 4 elements, one per SM
    cycles_per_cta = (outputs / 2) * 27 / (128 * 0.5)
    expected = config.spec.memory_latency_cycles + cycles_per_cta
    assert simulate_ops([op], config).elapsed == pytest.approx(expected)


def test_the_stem_barely_changes_with_dtype_and_grows_with_the_batch():
    """The stem (3 -> 128, 32x32) runs on the CUDA cores in fp32: bf16 and fp32 differ only by
    their (few) bytes. A tensor-core layer (same layout, no transposes) is slower in fp32: TF32
    tensor cores run at half bf16's rate."""

    def ms(cin, dtype, n, layout="nchw"):
        op = conv("l", n, cin, (32, 32), 128, (32, 32), (3, 3), dtype, H200.spec, "x", "y", layout)
        return simulate_ops([op], H200).elapsed / H200.spec.clock_hz * 1e3

    assert ms(3, "fp32", 1024) / ms(3, "bf16", 1024) < 1.25
    assert ms(128, "fp32", 1024, "nhwc") / ms(128, "bf16", 1024, "nhwc") > 1.4
    host = H200.us_to_cycles(H200.fit.library_overhead_us) / H200.spec.clock_hz * 1e3
    stem_256, stem_1024 = ms(3, "bf16", 256) - host, ms(3, "bf16", 1024) - host
    assert stem_1024 / stem_256 == pytest.approx(4, rel=0.1)  # GPU time linear in the batch


def test_host_price_of_one_convolution_at_both_dtypes_by_hand():
    """One cuDNN call pays the library overhead once and a launch for each further kernel:
    bf16 launches four kernels (three transposes around the GEMM), fp32 three (no output
    transpose), so their host times differ by exactly one launch."""
    fit = H200.fit
    for dtype, extra_kernels in (("bf16", 3), ("fp32", 2)):
        op = conv("c", 2, 16, (8, 8), 32, (8, 8), (3, 3), dtype, H200.spec, "x", "y")
        timeline = simulate_ops([op], H200)
        expected_us = fit.library_overhead_us + extra_kernels * fit.launch_overhead_us
        assert timeline.host_end == pytest.approx(H200.us_to_cycles(expected_us)), dtype
        assert len(timeline.runs) == extra_kernels + 1
