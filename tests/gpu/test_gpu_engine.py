import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.gpu import load_config
from simulators.gpu.cache import L2
from simulators.gpu.engine import simulate_ops
from simulators.gpu.kernels import (
    Kernel,
    Op,
    Read,
    Write,
    concat,
    elementwise,
    gather_copy,
    gemm,
)
from simulators.gpu.layers import lif_loop
from simulators.gpu.roofline import roofline_cycles

H200 = load_config("h200")
SPEC = H200.spec


def compute_kernel(ctas: int, macs_per_cta: float = 1e6) -> Kernel:
    return Kernel("mma", ctas, 256, regs_per_thread=255, math="bf16", macs=ctas * macs_per_cta)


def gpu_cycles(*kernels: Kernel, config=H200) -> float:
    timeline = simulate_ops([Op("l", "conv", "call", "library", kernels)], config)
    return sum(run.cycles for run in timeline.runs)


def test_wave_quantization_one_cta_too_many_doubles_the_time():
    full = gpu_cycles(compute_kernel(SPEC.sm_count))
    one_more = gpu_cycles(compute_kernel(SPEC.sm_count + 1))
    latency = SPEC.memory_latency_cycles
    assert (one_more - 2 * latency) == pytest.approx(2 * (full - latency))
    assert gpu_cycles(compute_kernel(SPEC.sm_count // 2)) == pytest.approx(full)


def test_occupancy_is_limited_by_threads_registers_and_shared_memory():
    assert Kernel("k", 1, 128, regs_per_thread=32).occupancy(SPEC) == 16  # threads
    assert Kernel("k", 1, 256, regs_per_thread=255).occupancy(SPEC) == 1  # registers
    assert Kernel("k", 1, 64, smem_bytes=100 * 1024).occupancy(SPEC) == 2  # shared memory
    assert Kernel("k", 1, 32, regs_per_thread=16).occupancy(SPEC) == SPEC.max_ctas_per_sm


def test_streaming_copy_runs_at_the_fitted_dram_bandwidth():
    elements = 1 << 27
    copy = elementwise("copy", elements, [("src", 4, elements)], ("dst", 4))
    cycles = gpu_cycles(copy)
    expected = 2 * 4 * elements / (SPEC.dram_bytes_per_cycle * H200.fit.stream_efficiency)
    assert cycles == pytest.approx(expected, rel=0.02)


def test_stack_reads_each_part_once_and_streams_like_a_copy():
    """torch.stack of T parts moves each part once and writes the result once: as many bytes
    as a copy of the result (it was charged T reads of the whole output, 2.5x too slow)."""
    part = 1 << 23  # 8M bf16 elements per step, as ResNet19's l1conv LIF at N = 256
    stack = concat("stack", [(f"o{t}", part) for t in range(4)], 2, "out")
    assert sum(r.l2_bytes for r in stack.reads) == 4 * part * 2 == stack.writes[0].l2_bytes
    assert stack.indexed_elements == 0 and stack.alu_ops == 0
    copy = elementwise("copy", 4 * part, [("src", 2, 4 * part)], ("dst", 2))
    assert gpu_cycles(stack) == pytest.approx(gpu_cycles(copy), rel=1e-6)
    (stacked,) = lif_loop("l", part, 4, "bf16", "y", 2, "o")[-1].kernels
    assert sum(r.l2_bytes for r in stacked.reads) == 4 * part * 2


def test_small_ops_are_bound_by_the_host():
    tiny = elementwise("add", 8, [("x", 2, 8)], ("x", 2))
    ops = [Op("l", "add", "add", "op", (tiny,)) for _ in range(50)]
    timeline = simulate_ops(ops, H200)
    per_op = H200.us_to_cycles(H200.fit.op_overhead_us)
    assert timeline.host_end == pytest.approx(50 * per_op)
    assert timeline.elapsed == pytest.approx(timeline.runs[-1].end)
    assert 50 * per_op < timeline.elapsed < 51 * per_op
    gaps = [b.start - a.end for a, b in zip(timeline.runs[:-1], timeline.runs[1:], strict=True)]
    assert min(gaps) > 0  # the GPU waits for every launch


def test_extra_kernels_of_one_op_pay_the_launch_overhead():
    tiny = elementwise("im2col", 8, [("x", 2, 8)], ("y", 2))
    timeline = simulate_ops([Op("l", "local", "F.unfold", "op", (tiny,) * 10)], H200)
    fit = H200.fit
    assert timeline.host_end == pytest.approx(
        H200.us_to_cycles(fit.op_overhead_us + 9 * fit.launch_overhead_us)
    )


def test_gemm_tiles_and_padding():
    a, b = Read("a", 0, 0), Read("b", 0, 0)
    kernel = gemm("g", 4096, 128, 27, SPEC, "bf16", 2, a, b, Write("c", 0, 0))
    assert kernel.macs >= kernel.useful_macs == 4096 * 128 * 27
    assert kernel.ctas <= SPEC.sm_count  # a small grid picks small tiles to fill the SMs
    big = gemm("g", 8192, 8192, 8192, SPEC, "bf16", 2, a, b, Write("c", 0, 0))
    assert big.macs == big.useful_macs and big.ctas == 8192 * 8192 // (128 * 256)


def test_l2_shared_weights_are_fetched_once_unshared_weights_stream():
    l2 = L2(SPEC)
    positions, depth, cout, n = 256, 1152, 256, 4
    shared = gemm(
        "conv",
        n * positions,
        cout,
        depth,
        SPEC,
        "bf16",
        2,
        Read("x", n * positions * depth * 2, 0),
        Read("w", depth * cout * 2, 0),
        Write("y", 0, 0),
    )
    unshared = gemm(
        "bmm",
        n,
        cout,
        depth,
        SPEC,
        "bf16",
        2,
        Read("x2", n * positions * depth * 2, 0),
        Read("w2", positions * depth * cout * 2, 0),
        Write("y2", 0, 0),
        batch=positions,
    )
    t_shared, t_unshared = l2.traffic(shared), l2.traffic(unshared)
    assert t_shared.dram_read_bytes == n * positions * depth * 2 + depth * cout * 2
    assert t_shared.l2_tile_bytes > 10 * depth * cout * 2  # every CTA re-reads the kernel
    assert t_unshared.dram_read_bytes == pytest.approx(
        n * positions * depth * 2 + positions * depth * cout * 2
    )


def test_l2_residency_write_back_and_scattered_reuse():
    l2 = L2(SPEC)
    small = 1 << 20
    write = elementwise("w", small, [], ("t", 1))
    read = elementwise("r", small, [("t", 1, small)], ("u", 1))
    assert l2.traffic(write).dram_bytes == 0  # stays dirty in L2
    assert l2.traffic(read).dram_read_bytes == 0  # hit
    huge = 2 * l2.usable_bytes
    flush = elementwise("f", huge, [("big", 1, huge)], ("big2", 1))
    traffic = l2.traffic(flush)
    assert traffic.dram_read_bytes == huge
    assert traffic.dram_write_bytes == huge + 2 * small  # streamed out, plus dirty t and u
    assert l2.traffic(read).dram_read_bytes == small  # t was evicted
    fits = gather_copy("g", 1e6, 2, "s", "d", reuse_bytes=l2.usable_bytes / 2)
    misses = gather_copy("g", 1e6, 2, "s2", "d2", reuse_bytes=2 * l2.usable_bytes)
    assert l2.traffic(fits).dram_read_bytes == 2e6
    assert l2.traffic(misses).dram_read_bytes == 1e6 * SPEC.dram_fetch_bytes


kernels = st.builds(
    lambda ctas, threads, macs, alu, dram, l2_bytes, scattered, math_unit: Kernel(
        "k",
        ctas,
        threads,
        math=math_unit,
        macs=macs if math_unit else 0.0,
        alu_ops=alu,
        reads=(
            Read("in", dram, l2_bytes),
            Read("gather", 0, scattered, scattered=True, elements=scattered / 32),
        ),
        writes=(Write("out", 0, 0),),
    ),
    st.integers(1, 2000),
    st.sampled_from([32, 128, 256, 1024]),
    st.floats(0, 1e10),
    st.floats(0, 1e9),
    st.floats(0, 1e9),
    st.floats(0, 1e9),
    st.floats(0, 1e8),
    st.sampled_from([None, "bf16", "int8", "fp32", "tf32"]),
)


@settings(max_examples=40, deadline=None)
@given(kernel=kernels, preset=st.sampled_from(["h200", "orin", "a100-sxm"]))
def test_simulated_cycles_lie_between_the_roofline_and_the_sum_of_all_terms(kernel, preset):
    config = load_config(preset)
    spec = config.spec
    cycles = gpu_cycles(kernel, config=config)
    op = Op("l", "x", "call", "library", (kernel,))
    (roof,) = roofline_cycles([op], config)
    assert cycles >= roof * (1 - 1e-9)
    per_sm = math.ceil(kernel.ctas / spec.sm_count)
    traffic = L2(spec).traffic(kernel)
    serial = (
        math.ceil(per_sm / kernel.occupancy(spec)) * spec.memory_latency_cycles
        + per_sm * roof * spec.sm_count / max(kernel.ctas, 1)
        + traffic.dram_bytes / (spec.dram_bytes_per_cycle * config.fit.stream_efficiency)
        + (traffic.l2_bytes + traffic.l2_scattered_bytes)
        / (spec.l2_bytes_per_cycle / spec.sm_count * config.fit.scattered_efficiency)
    )
    assert cycles <= serial * (1 + 1e-9) + 1


def test_overrides_change_the_model():
    slow_host = dataclasses.replace(H200.fit, op_overhead_us=100.0)
    config = dataclasses.replace(H200, fit=slow_host)
    tiny = elementwise("add", 8, [("x", 2, 8)], ("x", 2))
    assert simulate_ops([Op("l", "add", "add", "op", (tiny,))], config).host_end == (
        pytest.approx(config.us_to_cycles(100.0))
    )
