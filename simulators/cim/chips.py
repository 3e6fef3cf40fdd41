"""Chips that cost what they cost: the die's area against the reticle, link ports, and reloading
weights when a fixed budget of chips is too small.

- **Area and reticle**: a chip is ``tiles_per_chip`` tiles (every component of
  :func:`tile_components`), its global buffer and, in a system of several chips, one link port
  (``chip_link_area_um2``). A chip larger than ``reticle_mm2`` cannot be printed in one exposure:
  :func:`reticle_problem` says why and the mapping refuses it with the largest tile count that fits.
- **Budget**: ``chips = N`` holds ``N × tiles_per_chip`` tiles. A network that needs more runs,
  under ``overflow = "reload"``, in ``rounds`` per image (consecutive tiles in placement order,
  ``N × tiles_per_chip`` at a time): before a round computes, its weights are read from DRAM and
  written into the cells with write-verify. With two or more rounds every used cell is rewritten
  once per ``reload_images`` images; its endurance then gives the chip's lifetime. Rounds do not
  overlap writing with computing (a round computes on the cells it has just written), so the reload
  time adds to the latency. Under ``overflow = "refuse"`` the mapping fails with one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulators.cim.config import CimConfig


def tile_components(config: CimConfig) -> list[tuple[str, int, float]]:
    """``(component, instances per tile, µm² each)`` of one tile (every PE slot counts)."""
    c = config
    pes = c.pes_per_tile
    adcs_per_pe = c.adcs_per_unit * (1 if c.pe_accumulation == "analog" else c.crossbars_per_pe)
    return [
        ("crossbar", pes * c.crossbars_per_pe, c.crossbar_area_um2),
        ("adc", pes * adcs_per_pe, c.adc_each_area_um2),
        ("mux", pes * adcs_per_pe, c.mux_area_um2),
        ("adder", pes, c.adder_area_um2),
        ("subtractor", c.subtractors_per_tile, c.subtractor_area_um2),
        ("temp_buffer", 1, c.temp_buffer_area_um2),
        ("tile_buffer", c.tile_buffer_bits, c.buffer_bit_area_um2),
        ("htree", 1, c.htree_area_um2),
        ("neuron", c.neuron_units_per_tile, c.neuron_area_um2),
    ]


def _areas_um2(config: CimConfig) -> tuple[float, float]:
    """One tile's area, and the chip's fixed part: its global buffer and link port."""
    tile = sum(n * each for _, n, each in tile_components(config))
    buffer = config.global_buffer_kib * 8192 * config.buffer_bit_area_um2
    return tile, buffer + config.chip_link_area_um2


def chip_area_mm2(config: CimConfig) -> float:
    """A full chip: its tiles, global buffer and link port (µm² → mm²)."""
    tile, fixed = _areas_um2(config)
    return (tile * config.tiles_per_chip + fixed) * 1e-6


def reticle_problem(config: CimConfig) -> str | None:
    """Why a chip is larger than the reticle limit, naming the tile count that fits (or None)."""
    area = chip_area_mm2(config)
    if area <= config.reticle_mm2:
        return None
    tile, fixed = _areas_um2(config)
    fits = max(int((config.reticle_mm2 * 1e6 - fixed) // tile), 0)
    return (
        f"key 'tiles_per_chip': a chip of {config.tiles_per_chip} tiles is {area:.0f} mm², "
        f"larger than the reticle limit reticle_mm2 = {config.reticle_mm2:g} mm²; set "
        f"tiles_per_chip <= {fits}"
    )


@dataclass(frozen=True)
class Reload:
    """Weights rewritten per image under ``overflow = "reload"`` (zeros when everything fits)."""

    rounds: int
    cells_written: float  # per image
    dram_bits: float  # per image
    cycles: float  # per image, added to the latency
    energy_pj: float  # per image: DRAM reads + write-verify

    def lifetime_s(self, config: CimConfig, seconds_per_image: float) -> float:
        """Seconds until the cells reach their endurance when images run back to back
        (each used cell is written once per ``reload_images`` images)."""
        if self.rounds <= 1 or config.cell_endurance_writes == 0:
            return math.inf
        return config.cell_endurance_writes * config.reload_images * seconds_per_image


def reload_cost(mapping) -> Reload:
    """Cells, DRAM bits, time and energy of rewriting the weights for one image."""
    c = mapping.config
    rounds = mapping.rounds
    if rounds <= 1:
        return Reload(rounds, 0.0, 0.0, 0.0, 0.0)
    capacity = c.chips * c.tiles_per_chip
    cells = np.zeros(rounds)
    for m in mapping.layers.values():
        pe = m.first_pe + np.arange(m.pes)
        per_pe = m.used_cells * m.copies / m.pes
        cells += np.bincount(pe // c.pes_per_tile // capacity, minlength=rounds) * per_pe
    bits = cells * c.bits_per_cell
    dram_ns = bits / c.dram_gbps  # Gb/s = bit/ns
    write_ns = np.where(cells > 0, c.crossbar_rows * c.cell_write_ns, 0.0)
    ns = float(np.maximum(dram_ns, write_ns).sum())
    share = 1 / c.reload_images
    return Reload(
        rounds=rounds,
        cells_written=float(cells.sum()) * share,
        dram_bits=float(bits.sum()) * share,
        cycles=ns / c.clock_ns * share,
        energy_pj=float(cells.sum() * c.cell_write_pj + bits.sum() * c.dram_pj_per_bit) * share,
    )
