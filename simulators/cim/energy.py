"""Per-action energy and per-component area: counts × the config's constants, as Report rows.

Kept apart from the counts (:mod:`work`) and the architecture (:mod:`mapping`), as Accelergy keeps
its energy tables apart from Timeloop's mapping: every row's energy is ``events × one constant``
of the config, named in :data:`ACTIONS`, whose source sits in the preset (the ADC's energy and
area are the preset's, scaled from its ``adc_reference_bits`` to ``adc_bits``: see
:attr:`CimConfig.adc_scale`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulators.cim.chips import tile_components
from simulators.cim.config import CimConfig
from simulators.cim.mapping import ChipMapping
from simulators.ir import Graph

# count name → (component, event, config key of the energy per event)
ACTIONS = {
    "crossbar_reads": ("crossbar", "read", "crossbar_read_pj"),
    "crossbar_row_reads": ("crossbar", "row_read", "crossbar_row_read_pj"),
    "adc_row_conversions": ("adc", "row_conversion", "adc_row_pj"),
    "adc_conversions": ("adc", "conversion", "adc_conversion_pj"),
    "mux_selects": ("mux", "select", "mux_pj"),
    "subtractor_bit_ops": ("subtractor", "bit_op", "subtractor_pj_per_bit"),
    "temp_buffer_writes": ("temp_buffer", "write", "temp_buffer_pj"),
    "adds": ("adder", "add", "adder_pj"),
    "input_fetches": ("input_buffer", "fetch", "input_fetch_pj"),
    "htree_transfers": ("htree", "psum_transfer", "htree_pj"),
    "tile_buffer_accesses": ("tile_buffer", "access", "tile_buffer_pj"),
    "neuron_ops": ("neuron", "integrate", "neuron_pj"),
    "digital_ops": ("digital", "op", "adder_pj"),
    # chips, links, reload, multicast (issue 22; simulators/cim/chips.py, network.py)
    "flit_hops": ("noc", "flit_hop", "noc_flit_energy_pj"),
    "chip_link_bits": ("chip_link", "bit", "chip_link_energy_pj_per_bit"),
    "psum_flit_hops": ("noc", "psum_flit_hop", "noc_flit_energy_pj"),
    "psum_link_bits": ("chip_link", "psum_bit", "chip_link_energy_pj_per_bit"),
    "reload_dram_bits": ("reload", "dram_read_bit", "dram_pj_per_bit"),
    "reload_cell_writes": ("reload", "cell_write", "cell_write_pj"),
}


def energy_rows(
    hardware: str,
    layer: str,
    op: str,
    counts: dict[str, np.ndarray],
    config: CimConfig,
    cycles: dict[str, np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """Rows per step for the non-zero counts ``{action: [T]}`` of one layer."""
    rows = []
    for action, per_step in counts.items():
        component, event, key = ACTIONS[action]
        pj = getattr(config, key)
        busy = (cycles or {}).get(action)
        for step, n in enumerate(np.asarray(per_step, float)):
            if n:
                rows.append(
                    {
                        "hardware": hardware,
                        "layer": layer,
                        "op": op,
                        "step": step,
                        "component": component,
                        "event": event,
                        "events": n,
                        "cycles": float(busy[step]) if busy is not None else 0.0,
                        "energy_pj": n * pj,
                        "area_um2": 0.0,
                    }
                )
    return rows


def area_rows(hardware: str, graph: Graph, mapping: ChipMapping) -> list[dict[str, Any]]:
    """Area of the used tiles (every PE slot counts, as on silicon; under reload the tiles built),
    the global buffer, the chips' link ports (several chips), each layer's input buffer and each
    LIF layer's membrane storage."""
    c = mapping.config
    tiles, chips = mapping.physical_tiles, mapping.physical_chips  # built, not needed (reload)
    bit = c.buffer_bit_area_um2
    chip = [(name, tiles * n, each) for name, n, each in tile_components(c)] + [
        ("global_buffer", round(c.global_buffer_kib * 8192), bit),
        ("chip_link", chips if chips > 1 else 0, c.chip_link_area_um2),  # one port per chip
    ]
    rows = [_area_row(hardware, "chip", "chip", name, n, n * each) for name, n, each in chip]
    for node in graph:
        if node.name in mapping.layers:
            bits = int(np.prod(graph[node.inputs[0]].shape)) * c.input_buffer_bits
            rows.append(_area_row(hardware, node.name, node.op, "input_buffer", bits, bits * bit))
        elif node.op == "lif":
            bits = int(np.prod(node.shape)) * c.membrane_bits
            rows.append(_area_row(hardware, node.name, node.op, "membrane", bits, bits * bit))
    return [r for r in rows if r["area_um2"]]


def _area_row(hardware: str, layer: str, op: str, component: str, count: int, area: float):
    return {
        "hardware": hardware,
        "layer": layer,
        "op": op,
        "step": -1,
        "component": component,
        "event": "area",
        "events": float(count),
        "cycles": 0.0,
        "energy_pj": 0.0,
        "area_um2": float(area),
    }
