"""Layers → crossbars, PEs, tiles and chips.

Every weighted IR node becomes a :class:`LayerMapping`. Its weights are cut into row blocks
(crossbar rows) and column blocks (crossbar columns):

- ``im2col``: the unrolled kernel, ``Cin·kh·kw`` rows × ``Cout·columns_per_weight`` columns;
- ``kernel-split`` (SpikeSim): one ``Cin × Cout`` array per kernel position, the ``kh·kw`` arrays
  of a channel block side by side in one PE.

A PE holds ``crossbars_per_pe`` row blocks of one column block (they produce the same outputs).
A shared ``conv`` stores its weights once (or ``duplication`` times, the copies splitting each
output row's positions) and is time-multiplexed over output positions; an unshared ``local``
layer stores one weight set per output position and computes all positions in parallel;
``linear`` is a 1×1 convolution of a 1×1 input. Layers are placed on tiles in graph order, either
packed (a tile may hold PEs of several layers, as SpikeSim) or tile-aligned; tiles fill chips in
order. ``chips = 0`` spreads the network over as many chips as it needs (the summary reports how
many); with a budget (``chips = N``) a network that needs more tiles runs in rounds that rewrite
the weights (``overflow = "reload"``, :mod:`chips`) or is a :class:`MappingError` that says how
many chips it needs (``overflow = "refuse"``). A chip larger than the reticle is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from simulators.cim.chips import reticle_problem
from simulators.cim.config import CimConfig
from simulators.ir import WEIGHTED_OPS, Graph, Node, pair


class MappingError(ValueError):
    """A network does not fit the configured chip(s); the message says what would."""


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class LayerMapping:
    """One weighted layer on the chip. Shapes are ``(C, H, W)``; a linear layer is ``(F, 1, 1)``."""

    name: str
    op: str
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    binary_input: bool
    passes: int
    block_rows: tuple[int, ...]
    outputs_per_block: tuple[int, ...]
    crossbars_per_pe: int
    columns_per_weight: int
    copies: int
    first_pe: int

    @property
    def shared(self) -> bool:
        """Whether one weight set serves every output position (time-multiplexed)."""
        return self.op != "local"

    @property
    def row_blocks(self) -> int:
        return len(self.block_rows)

    @property
    def column_blocks(self) -> int:
        return len(self.outputs_per_block)

    @property
    def pe_groups(self) -> int:
        """PEs per column block of one weight copy."""
        return _ceil(self.row_blocks, self.crossbars_per_pe)

    @property
    def pes_per_copy(self) -> int:
        return self.pe_groups * self.column_blocks

    @property
    def pes(self) -> int:
        return self.pes_per_copy * self.copies

    @property
    def crossbars(self) -> int:
        return self.row_blocks * self.column_blocks * self.copies

    @property
    def rows(self) -> int:
        """Output rows: the unit of work that flows between layers."""
        return self.out_shape[1]

    @property
    def width(self) -> int:
        return self.out_shape[2]

    @property
    def used_cells(self) -> int:
        return sum(self.block_rows) * sum(self.outputs_per_block) * self.columns_per_weight


@dataclass(frozen=True)
class ChipMapping:
    """All layers placed on tiles and chips."""

    config: CimConfig
    layers: dict[str, LayerMapping]

    @property
    def pes(self) -> int:
        return sum(m.pes for m in self.layers.values())

    @property
    def crossbars(self) -> int:
        return sum(m.crossbars for m in self.layers.values())

    @property
    def tiles(self) -> int:
        end = max((m.first_pe + m.pes for m in self.layers.values()), default=0)
        return _ceil(end, self.config.pes_per_tile)

    @property
    def chips(self) -> int:
        """Chips the network needs (with a budget under reload: the chips it would need)."""
        return _ceil(self.tiles, self.config.tiles_per_chip)

    @property
    def physical_chips(self) -> int:
        """Chips built: the budget when the network overflows it (reload), else those needed."""
        return min(self.chips, self.config.chips) if self.config.chips else self.chips

    @property
    def physical_tiles(self) -> int:
        return min(self.tiles, self.physical_chips * self.config.tiles_per_chip)

    @property
    def rounds(self) -> int:
        """Weight loads per image: 1 when the network fits the chips built."""
        return _ceil(self.tiles, self.physical_tiles) if self.tiles else 1

    def row_tile(self, layer: str, row: int) -> int:
        """The tile that collects an output row (an unshared layer's rows live on their own PEs)."""
        m = self.layers[layer]
        first = m.first_pe if m.shared else m.first_pe + row * m.width * m.pes_per_copy
        return first // self.config.pes_per_tile

    def utilization(self) -> dict[str, float]:
        """Cells holding weights per allocated cell; crossbar slots used per PE; PEs per tile."""
        c = self.config
        cells = self.crossbars * c.crossbar_rows * c.crossbar_columns
        return {
            "cell_utilization": sum(m.used_cells * m.copies for m in self.layers.values()) / cells,
            "pe_slot_utilization": self.crossbars / (self.pes * c.crossbars_per_pe),
            "tile_utilization": self.pes / (self.tiles * c.pes_per_tile),
        }


def _layer_geometry(graph: Graph, node: Node) -> tuple:
    in_shape = graph[node.inputs[0]].shape
    if node.op == "linear":
        return (in_shape[0], 1, 1), (node.shape[0], 1, 1), (1, 1), (1, 1), (0, 0)
    kernel = tuple(node.arrays["weight"].shape[2:])
    return (
        tuple(in_shape),
        tuple(node.shape),
        kernel,
        pair(node.attrs.get("stride", 1)),
        pair(node.attrs.get("padding", 0)),
    )


def _block_rows(cin: int, kernel: tuple[int, int], config: CimConfig) -> tuple[int, ...]:
    """Used rows of each row block, in the order PEs take them (channel block, then offset)."""
    rows, taps = config.crossbar_rows, kernel[0] * kernel[1]
    if config.mapping == "im2col":
        total = cin * taps
        return tuple(min(rows, total - start) for start in range(0, total, rows))
    return tuple(min(rows, cin - start) for start in range(0, cin, rows) for _ in range(taps))


def map_layer(graph: Graph, node: Node, config: CimConfig, first_pe: int) -> LayerMapping:
    in_shape, out_shape, kernel, stride, padding = _layer_geometry(graph, node)
    binary = graph.is_spiking(node.inputs[0])
    per_block = config.crossbar_columns // config.columns_per_weight
    cout = out_shape[0]
    outputs = tuple(min(per_block, cout - start) for start in range(0, cout, per_block))
    if node.op == "local":
        copies = out_shape[1] * out_shape[2]
    elif node.op == "conv":
        copies = min(config.duplication, out_shape[2])
    else:
        copies = 1
    return LayerMapping(
        name=node.name,
        op=node.op,
        in_shape=in_shape,
        out_shape=out_shape,
        kernel=kernel,
        stride=stride,
        padding=padding,
        binary_input=binary,
        passes=1 if binary else config.real_input_bits,
        block_rows=_block_rows(in_shape[0], kernel, config),
        outputs_per_block=outputs,
        crossbars_per_pe=config.crossbars_per_pe,
        columns_per_weight=config.columns_per_weight,
        copies=copies,
        first_pe=first_pe,
    )


def map_graph(graph: Graph, config: CimConfig) -> ChipMapping:
    """Map and place every weighted layer; raises :class:`MappingError` if the chips overflow
    under ``overflow = "refuse"``."""
    problem = reticle_problem(config)
    if problem:
        raise MappingError(problem)
    layers: dict[str, LayerMapping] = {}
    next_pe = 0
    for node in graph:
        if node.op not in WEIGHTED_OPS:
            continue
        if config.placement == "tile-aligned":
            next_pe = _ceil(next_pe, config.pes_per_tile) * config.pes_per_tile
        layers[node.name] = map_layer(graph, node, config, next_pe)
        next_pe += layers[node.name].pes
    mapping = ChipMapping(config, layers)
    capacity = config.chips * config.tiles_per_chip
    overflows = config.chips and mapping.tiles > capacity  # chips = 0: as many as needed
    if overflows and config.overflow == "refuse":
        raise MappingError(
            f"the network needs {mapping.tiles} tiles ({mapping.pes} PEs, {mapping.crossbars} "
            f"crossbars) but chips × tiles_per_chip = {config.chips} × {config.tiles_per_chip} "
            f"= {capacity}; set chips >= {mapping.chips} (e.g. overrides={{'chips': "
            f"{mapping.chips}}}), overflow = 'reload' or larger crossbars"
        )
    return mapping


def mapping_table(mapping: ChipMapping) -> pd.DataFrame:
    """One row per weighted layer: kernels, copies, blocks, crossbars, PEs, tiles, utilization."""
    c = mapping.config
    rows = []
    for m in mapping.layers.values():
        first_tile = m.first_pe // c.pes_per_tile
        last_tile = (m.first_pe + m.pes - 1) // c.pes_per_tile
        rows.append(
            {
                "layer": m.name,
                "op": m.op,
                "kernels": "shared" if m.shared else "unshared",
                "input_bits": m.passes,
                "copies": m.copies,
                "row_blocks": m.row_blocks,
                "column_blocks": m.column_blocks,
                "crossbars": m.crossbars,
                "pes": m.pes,
                "first_tile": first_tile,
                "tiles": last_tile - first_tile + 1,
                "cell_utilization": m.used_cells
                * m.copies
                / (m.crossbars * c.crossbar_rows * c.crossbar_columns),
            }
        )
    return pd.DataFrame(rows)
