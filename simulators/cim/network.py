"""Packets between tiles: hop counts on an H-tree or a mesh, flits, latency and energy.

A packet carries one output row of a sending layer (spike bitmaps, or partial sums where no LIF
lies between the layers) from the tile that collects that row to the tile of the receiving
layer's matching row. Tiles of a chip are numbered row-major on a square grid (mesh) or as the
leaves of a binary tree (H-tree); a packet to another chip goes through tile 0 of both chips and
a chip-to-chip link. Link contention inside the network is not modelled; each tile's injection
port serializes its packets (one flit per cycle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulators.cim.config import CimConfig
from simulators.cim.dataflow import Stream
from simulators.cim.mapping import ChipMapping


def hops(a: int, b: int, config: CimConfig) -> int:
    """Router hops between two tiles of the same chip (local tile numbers)."""
    if a == b:
        return 0
    if config.interconnect == "htree":
        return 2 * (a ^ b).bit_length()
    side = math.isqrt(config.tiles_per_chip - 1) + 1
    return abs(a // side - b // side) + abs(a % side - b % side)


@dataclass(frozen=True)
class Packets:
    """One stream's packets, per source row: where from, flits, cycles in flight, energy."""

    source: str
    target: str
    source_tiles: np.ndarray
    bits: np.ndarray
    flits: np.ndarray
    flight_cycles: np.ndarray
    flit_hops: np.ndarray
    link_bits: np.ndarray

    def latency(self) -> np.ndarray:
        """Cycles from a row's completion to its arrival, without waiting for the port."""
        return self.flits + self.flight_cycles


def packets(stream: Stream, mapping: ChipMapping) -> Packets:
    c = mapping.config
    target_rows = mapping.layers[stream.target].rows
    source_rows = len(stream.bits_per_row)
    fields = {
        k: np.zeros(source_rows, np.int64) for k in ("tiles", "flits", "flight", "hops", "link")
    }
    for row, bits in enumerate(stream.bits_per_row):
        src = mapping.row_tile(stream.source, row)
        dst = mapping.row_tile(
            stream.target, min(target_rows - 1, row * target_rows // source_rows)
        )
        fields["tiles"][row] = src
        if bits == 0 or src == dst:
            continue
        tpc = c.tiles_per_chip
        crossing = src // tpc != dst // tpc
        local_src, local_dst = src % tpc, dst % tpc
        n = (
            hops(local_src, 0, c) + hops(0, local_dst, c)
            if crossing
            else hops(local_src, local_dst, c)
        )
        flits = -(-int(bits) // c.noc_flit_bits)
        fields["flits"][row] = flits
        fields["hops"][row] = flits * n
        fields["flight"][row] = n * c.noc_hop_cycles + (c.chip_link_cycles if crossing else 0)
        fields["link"][row] = bits if crossing else 0
    return Packets(
        source=stream.source,
        target=stream.target,
        source_tiles=fields["tiles"],
        bits=np.asarray(stream.bits_per_row, np.int64),
        flits=fields["flits"],
        flight_cycles=fields["flight"],
        flit_hops=fields["hops"],
        link_bits=fields["link"],
    )
