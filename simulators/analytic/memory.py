"""Where weights live: on-chip SRAM of a given capacity, DRAM beyond it.

The dataflow, stated: weighted layers are placed in graph order, first fit, whole layers only:
a layer whose weights fit the SRAM left stays on chip, and every use of a weight (a SOP or a MAC)
reads it from a bank the size of that layer's weights. A layer that does not fit is streamed: at
every time step in which it computes, each of its weights is read from DRAM once and written once
into the on-chip SRAM (a staging buffer of the whole capacity), from which each use reads it.
Once per time step, not once per use: a streamed kernel is reused across the output positions
of a step, and re-fetching it per use would charge DRAM for the reuse any real dataflow keeps on
chip; not once per inference, because holding a layer over all T steps needs the capacity it
lacks. Unshared kernels reuse nothing across positions, so their whole weight set moves every
step: what makes them expensive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simulators.ir import WEIGHTED_OPS, Graph, Node

if TYPE_CHECKING:
    from simulators.analytic.model import EnergyTable


@dataclass(frozen=True)
class WeightPlacement:
    """Weighted layers on chip (name → bytes) and streamed from DRAM (name → bytes)."""

    capacity_bytes: int
    on_chip: dict[str, float] = field(default_factory=dict)
    streamed: dict[str, float] = field(default_factory=dict)

    @property
    def on_chip_bytes(self) -> float:
        return sum(self.on_chip.values())

    @property
    def streamed_bytes(self) -> float:
        return sum(self.streamed.values())

    def read_array_bytes(self, node: Node) -> float:
        """Size of the SRAM array a weight use reads: the layer's bank, or the staging SRAM."""
        if node.name in self.streamed:
            return float(self.capacity_bytes)
        return self.on_chip.get(node.name, 0.0)


def place_weights(graph: Graph, table: EnergyTable) -> WeightPlacement:
    """First fit in graph order of each layer's weights into ``table.sram_capacity_bytes``."""
    placement = WeightPlacement(table.sram_capacity_bytes)
    free = float(table.sram_capacity_bytes)
    for node in graph:
        if node.op not in WEIGHTED_OPS:
            continue
        size = node.weight_count * table.weight_bits / 8
        if size <= free:
            placement.on_chip[node.name] = size
            free -= size
        else:
            placement.streamed[node.name] = size
    return placement
