"""The SimPy model of one GPU and its host thread; one time unit is one GPU clock cycle.

The host walks the framework ops in program order, paying each op's overhead and each extra
kernel launch, and pushes kernels into one CUDA stream. The stream runs kernels in order: a
kernel's CTAs are dealt to the SMs (a Container of free SMs), every SM runs its share in rounds
of ``occupancy`` resident CTAs (wave quantization: the busiest SM sets the pace), and the bytes
flow through the DRAM and L2 channels, shared resources that move a fixed number of bytes per
cycle. An SM group finishes when its compute, its memory latency per round, its own L2 port
share and its queued DRAM and L2 transfers are all done. SMs with equal work are one process, so
a kernel costs a handful of events however many CTAs it has.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import simpy

from simulators.gpu.cache import L2, Traffic
from simulators.gpu.config import GpuConfig
from simulators.gpu.kernels import Kernel, Op


@dataclass(frozen=True)
class KernelRun:
    """One kernel as it ran: its op, when it was launched, started and ended (cycles)."""

    op: Op
    kernel: Kernel
    traffic: Traffic
    launched: float
    start: float
    end: float

    @property
    def cycles(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Timeline:
    runs: list[KernelRun]
    host_end: float
    gpu_end: float

    @property
    def elapsed(self) -> float:
        """Cycles from the first op's call until both the host and the GPU are done."""
        return max(self.host_end, self.gpu_end)


class Bandwidth:
    """A channel moving ``bytes_per_cycle``: transfers queue for it, first come first served."""

    def __init__(self, env: simpy.Environment, bytes_per_cycle: float) -> None:
        self.env = env
        self.bytes_per_cycle = bytes_per_cycle
        self.channel = simpy.Resource(env, capacity=1)

    def transfer(self, cycles: float):
        if cycles <= 0:
            return
        with self.channel.request() as request:
            yield request
            yield self.env.timeout(cycles)


class Gpu:
    """SMs, DRAM and L2 of one GPU, running the kernels of one stream."""

    def __init__(self, env: simpy.Environment, config: GpuConfig) -> None:
        spec, fit = config.spec, config.fit
        self.env, self.spec, self.fit = env, spec, fit
        self.sms = simpy.Container(env, capacity=spec.sm_count, init=spec.sm_count)
        self.dram = Bandwidth(env, spec.dram_bytes_per_cycle * fit.stream_efficiency)
        self.l2 = Bandwidth(env, spec.l2_bytes_per_cycle)
        self.port_bytes_per_cycle = spec.l2_bytes_per_cycle / spec.sm_count

    def cta_compute_cycles(self, kernel: Kernel) -> float:
        """Cycles one CTA keeps its SM's math units busy (alone on the SM)."""
        cycles = 0.0
        if kernel.macs:
            rate = self.spec.tensor_macs_per_cycle(kernel.math) * self.fit.efficiency(kernel)
            cycles += kernel.macs / kernel.ctas / rate
        alu = kernel.alu_ops + kernel.indexed_elements * self.fit.broadcast_ops_per_element
        if alu:
            cycles += alu / kernel.ctas / self.spec.fp32_fmas_per_cycle_per_sm
        return cycles

    def run(self, kernel: Kernel, traffic: Traffic):
        """Deal the CTAs to the SMs and wait for every SM group."""
        sms = self.spec.sm_count
        per_sm, extra = divmod(kernel.ctas, sms)
        groups = [(extra, per_sm + 1), (sms - extra, per_sm)] if per_sm else [(extra, 1)]
        occupancy = kernel.occupancy(self.spec)
        yield simpy.AllOf(
            self.env,
            [
                self.env.process(self._sm_group(kernel, traffic, count, ctas, occupancy))
                for count, ctas in groups
                if count and ctas
            ],
        )

    def _sm_group(self, kernel: Kernel, traffic: Traffic, sms: int, ctas: int, occupancy: int):
        yield self.sms.get(sms)
        share = sms * ctas / kernel.ctas
        rounds = math.ceil(ctas / occupancy)
        busy = rounds * self.spec.memory_latency_cycles + ctas * self.cta_compute_cycles(kernel)
        port = (traffic.l2_bytes + traffic.l2_scattered_bytes) * share / sms
        l2_cycles = share * (
            traffic.l2_bytes / self.l2.bytes_per_cycle
            + traffic.l2_scattered_bytes / (self.l2.bytes_per_cycle * self.fit.scattered_efficiency)
        )
        yield simpy.AllOf(
            self.env,
            [
                self.env.timeout(max(busy, port / self.port_bytes_per_cycle)),
                self.env.process(
                    self.dram.transfer(share * traffic.dram_bytes / self.dram.bytes_per_cycle)
                ),
                self.env.process(self.l2.transfer(l2_cycles)),
            ],
        )
        yield self.sms.put(sms)


def simulate_ops(ops: Iterable[Op], config: GpuConfig, graph_replay: bool = False) -> Timeline:
    """Run framework ops through the host thread and one stream; the timeline of every kernel.

    ``graph_replay``: the ops were captured in a CUDA graph, so the host pays one launch (an
    op's overhead) for all of them and the GPU runs the kernels back to back."""
    env = simpy.Environment()
    gpu = Gpu(env, config)
    l2 = L2(config.spec)
    stream = simpy.Store(env)
    runs: list[KernelRun] = []
    host_done = [0.0]
    fit = config.fit
    overhead = {
        "op": config.us_to_cycles(fit.op_overhead_us),
        "library": config.us_to_cycles(fit.library_overhead_us),
        "view": 0.0,
    }
    launch = config.us_to_cycles(fit.launch_overhead_us)
    graph_launch = 0.0
    if graph_replay:
        graph_launch, launch = overhead["op"], 0.0
        overhead = dict.fromkeys(overhead, 0.0)

    def host():
        yield env.timeout(graph_launch)
        for op in ops:
            yield env.timeout(overhead[op.host])
            for i, kernel in enumerate(op.kernels):
                if i:
                    yield env.timeout(launch)
                stream.put((op, kernel, env.now))
        host_done[0] = env.now
        stream.put(None)

    def device():
        while True:
            item = yield stream.get()
            if item is None:
                return
            op, kernel, launched = item
            traffic = l2.traffic(kernel)
            start = env.now
            yield env.process(gpu.run(kernel, traffic))
            runs.append(KernelRun(op, kernel, traffic, launched, start, env.now))

    env.process(host())
    done = env.process(device())
    env.run(until=done)
    return Timeline(runs, host_done[0], runs[-1].end if runs else 0.0)
