"""Where a kernel's bytes come from: the L2 (tensors still resident, re-reads within a kernel)
or DRAM.

The L2 is write-back and write-allocate: a tensor a kernel writes or reads stays resident until
newer tensors push it out (least recently used first). Only one partition's worth of L2 counts
as usable (:attr:`usable_bytes`): Hopper and Ampere split the L2 in two partitions and a line
that SMs on both sides touch is held in both. Within a kernel, shared weights are fetched from
DRAM once however many CTAs read them; unshared weights are distinct bytes and stream. A
scattered read (one sector per element) re-uses each sector's other elements later; if the
bytes it must keep resident meanwhile exceed the usable L2, every element costs a DRAM fetch.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from simulators.gpu.config import GpuSpec
from simulators.gpu.kernels import Kernel


@dataclass(frozen=True)
class Traffic:
    """Bytes one kernel moves. ``l2_bytes`` pass the L2's bandwidth limit (coalesced),
    ``l2_scattered_bytes`` pass it one sector per element, ``l2_tile_bytes`` are a tuned GEMM's
    operand tiles (counted for energy; their cost is in the tensor-core efficiency)."""

    dram_read_bytes: float
    dram_write_bytes: float
    l2_bytes: float
    l2_scattered_bytes: float
    l2_tile_bytes: float
    smem_bytes: float

    @property
    def dram_bytes(self) -> float:
        return self.dram_read_bytes + self.dram_write_bytes

    @property
    def l2_total_bytes(self) -> float:
        return self.l2_bytes + self.l2_scattered_bytes + self.l2_tile_bytes


class L2:
    """Resident tensors, least recently used first; written ones are dirty until evicted."""

    def __init__(self, spec: GpuSpec) -> None:
        self.usable_bytes = spec.l2_bytes / spec.l2_partitions
        self.fetch_bytes = spec.dram_fetch_bytes
        self.resident: OrderedDict[str, float] = OrderedDict()
        self.dirty: set[str] = set()

    def _evict(self, tensor: str) -> float:
        """Drop ``tensor``; the bytes written back to DRAM (its size if dirty)."""
        size = self.resident.pop(tensor)
        if tensor in self.dirty:
            self.dirty.discard(tensor)
            return size
        return 0.0

    def _touch(self, tensor: str, size: float, written: bool) -> float:
        """Make ``tensor`` the most recent (a slice of a resident tensor keeps its full size);
        returns the dirty bytes this pushes out to DRAM. A rewrite replaces the old value in
        place, and a tensor larger than the usable L2 streams through, flushing the rest."""
        size = max(size, self.resident.pop(tensor, 0.0))
        if written:
            self.dirty.discard(tensor)
        if size > self.usable_bytes:
            return sum(self._evict(t) for t in list(self.resident))
        self.resident[tensor] = size
        if written:
            self.dirty.add(tensor)
        written_back = 0.0
        while sum(self.resident.values()) > self.usable_bytes:
            written_back += self._evict(next(iter(self.resident)))
        return written_back

    def traffic(self, kernel: Kernel) -> Traffic:
        """The kernel's DRAM and L2 bytes given what is resident now; then update residency.
        DRAM writes are the kernel's outputs too large to stay in L2 plus the dirty tensors
        it evicts (a tensor still resident at the end is never written back: the next batch
        overwrites it in place)."""
        dram_read = l2 = scattered = tiles = 0.0
        for read in kernel.reads:
            if read.tensor not in self.resident:
                if read.scattered and read.reuse_bytes > self.usable_bytes:
                    dram_read += read.elements * self.fetch_bytes
                else:
                    dram_read += read.bytes
            if read.scattered:
                scattered += read.l2_bytes
            elif kernel.staged_bytes and kernel.math is not None:
                tiles += read.l2_bytes
            else:
                l2 += read.l2_bytes
        dram_write = sum(self._touch(r.tensor, r.bytes, written=False) for r in kernel.reads)
        for write in kernel.writes:
            l2 += write.l2_bytes
            dram_write += self._touch(write.tensor, write.bytes, written=True)
            if write.bytes > self.usable_bytes:
                dram_write += write.bytes
        return Traffic(dram_read, dram_write, l2, scattered, tiles, kernel.staged_bytes)
