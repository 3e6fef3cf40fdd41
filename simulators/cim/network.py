"""Packets between tiles and chips: destinations, hop counts on an H-tree or a mesh, flits,
chip-to-chip links, and the partial sums reduced across tiles.

A packet carries one output row of a sending layer (spike bitmaps, or partial sums where no LIF
lies between the layers) to every tile that needs it: every tile of a shared receiving layer
(each of its PEs reads every input row), the tiles of the output rows of an unshared layer whose
windows read it, or the tile that integrates the matching row when only the receiver's output
stage (a residual add) reads it. ``noc_delivery = "multicast"`` sends a flit once over each link
of the tree that reaches them all (XY routes on a mesh, the binary tree of an H-tree);
``"unicast"`` sends one copy per tile. Tiles of a chip are numbered row-major on a square grid
(mesh) or as the leaves of a binary tree (H-tree). A packet for another chip goes to the chip's
link port at tile 0, crosses the link once per destination chip (``chip_link_gbps``, serialized
in :mod:`sim`: a chip's outgoing and incoming link are each one ``Resource``), and is multicast
from tile 0 there.

Partial sums: a column block's PE groups of one weight copy (a shared layer's copy, an unshared
layer's position) are summed at the tile of its first PE; groups on other tiles send their
partial-sum vector (``outputs × psum_bits``) there for every PE-cycle (:func:`reduction`).

``compatibility = "spikesim"`` keeps SpikeSim's accounting: one packet per row to the tile of the
matching row, no reduction traffic, no link serialization, NoC and link energy not charged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulators.cim.config import CimConfig
from simulators.cim.dataflow import Stream
from simulators.cim.mapping import ChipMapping, LayerMapping


def _side(config: CimConfig) -> int:
    return math.isqrt(config.tiles_per_chip - 1) + 1


def _levels(x: np.ndarray) -> np.ndarray:
    """Bit length of non-negative integers."""
    return np.where(x > 0, np.floor(np.log2(np.maximum(x, 1))).astype(np.int64) + 1, 0)


def hops(a, b, config: CimConfig):
    """Router hops between tiles of the same chip (local numbers; scalars or arrays)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if config.interconnect == "htree":
        n = 2 * _levels(a ^ b)
    else:
        side = _side(config)
        n = np.abs(a // side - b // side) + np.abs(a % side - b % side)
    return int(n) if n.ndim == 0 else n


def tree_links(source: int, targets: np.ndarray, config: CimConfig) -> int:
    """Links of the multicast tree from ``source`` to ``targets`` on one chip."""
    targets = np.unique(np.asarray(targets, np.int64))
    targets = targets[targets != source]
    if targets.size == 0:
        return 0
    if config.interconnect == "htree":
        depth = _levels(targets ^ source)
        links = int(depth.max())  # up from the source to the highest common ancestor
        for level in range(1, links + 1):  # down to every target: one link per subtree
            links += np.unique(targets[depth >= level] >> (level - 1)).size
        return links
    side = _side(config)
    row, col = divmod(source, side)
    rows, cols = targets // side, targets % side
    links = max(col, int(cols.max())) - min(col, int(cols.min()))  # X first, along the row
    for c in np.unique(cols):  # then Y, along each target column
        r = rows[cols == c]
        links += max(0, int(r.max()) - row) + max(0, row - int(r.min()))
    return links


@dataclass(frozen=True)
class Packets:
    """One stream's packets, per source row: where from, flits, cycles in flight, energy, and
    the chips it crosses to (``link_chips``: destination chips, ``link_cycles``: cycles the
    source chip's outgoing link is busy with them)."""

    source: str
    target: str
    source_tiles: np.ndarray
    bits: np.ndarray
    flits: np.ndarray
    flight_cycles: np.ndarray
    flit_hops: np.ndarray
    link_bits: np.ndarray
    link_cycles: np.ndarray
    link_chips: tuple[tuple[int, ...], ...]

    def transfer_cycles(self, row: int) -> int:
        """Cycles one link transfer of ``row``'s packet takes."""
        chips = len(self.link_chips[row])
        return int(self.link_cycles[row]) // chips if chips else 0

    def latency(self) -> np.ndarray:
        """Cycles from a row's completion to its arrival, without waiting for ports or links
        (outgoing and then incoming link, each ``link_cycles``)."""
        return self.flits + 2 * self.link_cycles + self.flight_cycles


def _layer_tiles(mapping: ChipMapping, first: int, count: int) -> np.ndarray:
    ppt = mapping.config.pes_per_tile
    return np.arange(first // ppt, (first + count - 1) // ppt + 1)


def destinations(mapping: ChipMapping, stream: Stream, row: int) -> np.ndarray:
    """Tiles that need source row ``row`` of ``stream``."""
    m = mapping.layers[stream.target]
    source_rows = len(stream.bits_per_row)
    matching = min(m.rows - 1, row * m.rows // source_rows)
    if mapping.config.spikesim_compatible or not stream.compute:
        return np.array([mapping.row_tile(stream.target, matching)])
    if m.shared:
        return _layer_tiles(mapping, m.first_pe, m.pes)
    in_rows = m.in_shape[1]
    lo = min(row * in_rows // source_rows, in_rows - 1)
    hi = max((row + 1) * in_rows // source_rows, lo + 1)
    (k, _), (s, _), (p, _) = m.kernel, m.stride, m.padding
    first = max(0, -(-(lo + p - k + 1) // s))
    last = min(m.rows - 1, (hi - 1 + p) // s)
    if last < first:
        return np.array([mapping.row_tile(stream.target, matching)])
    per_row = m.width * m.pes_per_copy
    return _layer_tiles(mapping, m.first_pe + first * per_row, (last - first + 1) * per_row)


def _route(source: int, targets: np.ndarray, config: CimConfig) -> tuple[int, int, tuple]:
    """Link count (flit-hops per flit), longest path in hops, destination chips of one packet."""
    tpc = config.tiles_per_chip
    home = source // tpc
    chips = np.unique(targets // tpc)
    remote = tuple(int(c) for c in chips if c != home)
    local = targets[targets // tpc == home] % tpc
    here = source % tpc
    ports = np.array([0] * bool(remote), np.int64)
    longest = int(np.max(hops(here, local, config), initial=0))
    if remote:
        out = hops(here, 0, config)
        inside = [hops(0, targets[targets // tpc == c] % tpc, config).max() for c in remote]
        longest = max(longest, out + int(max(inside)))
    if config.noc_delivery == "multicast":
        links = tree_links(here, np.concatenate([local, ports]), config)
        links += sum(tree_links(0, targets[targets // tpc == c] % tpc, config) for c in remote)
        return links, longest, remote
    links = int(hops(here, local, config).sum())
    away = targets[targets // tpc != home] % tpc
    links += int((hops(here, 0, config) + hops(0, away, config)).sum())
    return links, longest, tuple(int(t // tpc) for t in targets if t // tpc != home)


def packets(stream: Stream, mapping: ChipMapping) -> Packets:
    c = mapping.config
    source_rows = len(stream.bits_per_row)
    fields = {
        k: np.zeros(source_rows, np.int64)
        for k in ("tiles", "flits", "flight", "hops", "link", "link_cycles")
    }
    chips: list[tuple[int, ...]] = []
    for row, bits in enumerate(stream.bits_per_row):
        src = mapping.row_tile(stream.source, row)
        fields["tiles"][row] = src
        targets = destinations(mapping, stream, row)
        targets = targets[targets != src]
        if bits == 0 or targets.size == 0:
            chips.append(())
            continue
        links, longest, remote = _route(src, targets, c)
        flits = -(-int(bits) // c.noc_flit_bits)
        fields["flits"][row] = flits
        fields["hops"][row] = flits * links
        fields["flight"][row] = longest * c.noc_hop_cycles + (c.chip_link_cycles if remote else 0)
        fields["link"][row] = bits * len(remote)
        if not c.spikesim_compatible:
            per_transfer = math.ceil(bits / c.link_bits_per_cycle)
            fields["link_cycles"][row] = per_transfer * len(remote)
        chips.append(remote if not c.spikesim_compatible else ())
    return Packets(
        source=stream.source,
        target=stream.target,
        source_tiles=fields["tiles"],
        bits=np.asarray(stream.bits_per_row, np.int64),
        flits=fields["flits"],
        flight_cycles=fields["flight"],
        flit_hops=fields["hops"],
        link_bits=fields["link"],
        link_cycles=fields["link_cycles"],
        link_chips=tuple(chips),
    )


@dataclass(frozen=True)
class Reduction:
    """Partial-sum traffic of a layer per active PE group and position (``LayerWork.pe``):
    flit-hops and chip-link bits, averaged over the layer's weight copies and groups."""

    flit_hops: float
    link_bits: float


def reduction(m: LayerMapping, config: CimConfig) -> Reduction:
    """Partial sums sent to each column block's first tile by its groups on other tiles."""
    if config.spikesim_compatible or m.pe_groups == 1:
        return Reduction(0.0, 0.0)
    index = np.arange(m.pes)
    copy, within = np.divmod(index, m.pes_per_copy)
    block = within // m.pe_groups
    ppt, tpc = config.pes_per_tile, config.tiles_per_chip
    tile = (m.first_pe + index) // ppt
    home = (m.first_pe + copy * m.pes_per_copy + block * m.pe_groups) // ppt
    bits = np.asarray(m.outputs_per_block)[block] * config.psum_bits
    flits = -(-bits // config.noc_flit_bits)
    crossing = tile // tpc != home // tpc
    path = np.where(
        crossing,
        hops(tile % tpc, 0, config) + hops(0, home % tpc, config),
        hops(tile % tpc, home % tpc, config),
    )
    remote = tile != home
    per_group = m.copies * m.pe_groups  # the unit LayerWork.pe counts (per column block alike)
    return Reduction(
        flit_hops=float((flits * path * remote).sum()) / per_group,
        link_bits=float((bits * crossing).sum()) / per_group,
    )
