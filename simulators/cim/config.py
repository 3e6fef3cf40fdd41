"""The CIM chip description: one frozen dataclass, filled from a TOML preset with units and sources.

Architecture (arrays, PEs, tiles, chips), mapping choices and per-action energies, latencies and
areas live side by side here but are used apart (Timeloop/Accelergy style): :mod:`mapping`
reads the architecture, :mod:`energy` the per-action tables, :mod:`work` and :mod:`sim` the
latencies. Every key of a preset carries ``{value, unit, source}``.

Inputs convention: binary spikes drive the crossbar rows in one read pass. Real-valued inputs
(the stem's image, a layer after an average pool of spikes or after a ``scale``: any weighted
layer whose IR input is not spiking) are fed bit-serially, one read pass and one set of ADC
conversions per bit-plane, ``real_input_bits`` passes per input vector (default 8), never as
1-bit spikes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulators.config import (
    OVERRIDE,
    ConfigError,
    load_preset,
    preset_path,
    require,
    sources_of,
    unit_field,
)
from simulators.config import preset_names as _preset_names

PRESETS = Path(__file__).parent / "presets"

CHOICES = {
    "signed_weights": ("offset", "differential"),
    "mapping": ("kernel-split", "im2col"),
    "placement": ("packed", "tile-aligned"),
    "pe_accumulation": ("analog", "digital"),
    "interconnect": ("htree", "mesh"),
    "mode": ("event", "dense"),
    "zero_input_reads": ("skip", "read"),
    "power_gating": ("none", "idle-tiles"),
    "input_fetch_scope": ("pe-cycle", "pe-group"),
    # chips, links, die budget, reload, multicast (issue 22 items 2, 4, 5)
    "overflow": ("reload", "refuse"),
    "noc_delivery": ("multicast", "unicast"),
    "compatibility": ("none", "spikesim"),
    "adc_range": ("calibrated", "fixed"),
    "differential_subtraction": ("analog", "digital"),
}


_f = unit_field
# integer keys where 0 has a meaning, and what it means
ZERO_ALLOWED = {
    "chips": " (0: as many as needed)",
    "adc_reference_bits": " (0: adc_pj and adc_area_um2 are quoted at adc_bits)",
    "parallel_rows": " (0: every row of a crossbar at once)",
}


@dataclass(frozen=True)
class CimConfig:
    """A crossbar chip. Energies are per action (pJ), latencies in clock cycles, areas in µm²."""

    name: str
    clock_mhz: float = _f("MHz")
    # crossbars and weights
    crossbar_rows: int = _f("count")
    crossbar_columns: int = _f("count")
    bits_per_cell: int = _f("bit")
    weight_bits: int = _f("bit")
    signed_weights: str = _f("")
    psum_bits: int = _f("bit")
    crossbar_read_pj: float = _f("pJ")
    crossbar_read_cycles: int = _f("cycle")
    crossbar_area_um2: float = _f("µm²")
    # ADCs and column multiplexers
    adc_bits: int = _f("bit")
    columns_per_adc: int = _f("count")
    adc_pj: float = _f("pJ")  # per conversion, at adc_reference_bits
    adc_cycles: int = _f("cycle")
    adc_area_um2: float = _f("µm²")  # one ADC, at adc_reference_bits
    mux_pj: float = _f("pJ")
    mux_area_um2: float = _f("µm²")
    # processing element
    crossbars_per_pe: int = _f("count")
    pe_accumulation: str = _f("")
    pe_overhead_cycles: int = _f("cycle")
    idle_position_cycles: int = _f("cycle")
    adder_pj: float = _f("pJ")
    adder_area_um2: float = _f("µm²")
    subtractor_pj_per_bit: float = _f("pJ")
    temp_buffer_pj: float = _f("pJ")
    input_fetch_pj: float = _f("pJ")
    # tile
    pes_per_tile: int = _f("count")
    subtractors_per_tile: int = _f("count")
    subtractor_area_um2: float = _f("µm²")
    temp_buffer_area_um2: float = _f("µm²")
    tile_buffer_pj: float = _f("pJ")
    tile_buffer_bits: int = _f("bit")
    htree_pj: float = _f("pJ")
    htree_area_um2: float = _f("µm²")
    neuron_pj: float = _f("pJ")
    neuron_units_per_tile: int = _f("count")
    neuron_cycles: int = _f("cycle")
    neuron_area_um2: float = _f("µm²")
    membrane_bits: int = _f("bit")
    input_buffer_bits: int = _f("bit")
    buffer_bit_area_um2: float = _f("µm²")
    leakage_mw_per_tile: float = _f("mW")
    # chip
    tiles_per_chip: int = _f("count")
    chips: int = _f("count")
    interconnect: str = _f("")
    noc_flit_bits: int = _f("bit")
    noc_hop_cycles: int = _f("cycle")
    noc_flit_pj: float = _f("pJ")
    chip_link_pj_per_bit: float = _f("pJ")
    chip_link_cycles: int = _f("cycle")
    global_buffer_kib: float = _f("KiB")
    # chips, links, die budget, reload, multicast (issue 22 items 2, 4, 5; simulators/cim/chips.py)
    chip_link_gbps: float = _f("Gb/s")  # one link port per chip, each direction
    chip_link_area_um2: float = _f("µm²")  # the port's PHY, on every chip of a multi-chip system
    reticle_mm2: float = _f("mm²")
    overflow: str = _f("")  # with chips = N: rewrite what does not fit, or refuse
    reload_images: int = _f("count")  # images computed per weight load under reload
    dram_pj_per_bit: float = _f("pJ")
    dram_gbps: float = _f("Gb/s")
    cell_write_pj: float = _f("pJ")  # write-verify of one cell
    cell_write_ns: float = _f("ns")  # write-verify of one crossbar row (its cells in parallel)
    cell_endurance_writes: float = _f("count")  # 0: unlimited
    noc_delivery: str = _f("")
    # mapping and simulation choices
    mapping: str = _f("")
    placement: str = _f("")
    duplication: int = _f("count", default=1)
    real_input_bits: int = _f("bit", default=8)
    mode: str = _f("", default="event")
    # the resolution adc_pj and adc_area_um2 are quoted at; 0: at adc_bits (see adc_scale)
    adc_reference_bits: int = _f("bit", default=0)
    # functional crossbar (simulators.cim.functional): ADC range and device effects, off by default
    adc_full_scale: float = _f("", default=1.0)
    cell_variation_sigma: float = _f("", default=0.0)
    stuck_at_0_rate: float = _f("", default=0.0)
    stuck_at_1_rate: float = _f("", default=0.0)
    on_off_ratio: float = _f("", default=0.0)
    # energy from activity and power gating (issue 22 items 1 and 3; work.py, gating.py)
    # per active row (input 1) of a crossbar read: word-line charge and cell currents, as
    # NeuroSim's SubArray::CalculatePower (numRow · activityRowRead); the rest is crossbar_read_pj
    crossbar_row_read_pj: float = _f("pJ", default=0.0)
    # per active row of a conversion's unit: the column's conductance in the ADC's current
    adc_row_pj: float = _f("pJ", default=0.0)
    # a crossbar whose rows see no spike: "skip" (neither read nor converted) or "read"
    zero_input_reads: str = _f("", default="skip")
    # "idle-tiles": a tile is powered only while its layer works (+ wake-up), else "none"
    power_gating: str = _f("", default="none")
    wakeup_pj_per_tile: float = _f("pJ", default=0.0)
    wakeup_cycles: int = _f("cycle", default=0)
    # fraction of a tile's leakage that stays while it is gated (volatile cells keep weights)
    gated_leakage_fraction: float = _f("", default=0.0)
    # input_fetch_pj per PE-cycle (SpikeSim) or once per PE group and window, broadcast to the
    # column blocks that share its rows (NeuroSim Chip.cpp numBitToLoadOut: rows × windows)
    input_fetch_scope: str = _f("", default="pe-cycle")
    # "spikesim": only what SpikeSim's cost model charges (no NoC flit or link energy, one packet
    # per row to one tile, no partial-sum reduction traffic, no link serialization)
    compatibility: str = _f("", default="none")
    # how a chip is read (issue 21): ADC range policy, differential pairs, rows per conversion
    adc_range: str = _f("", default="calibrated")
    adc_range_percentile: float = _f("%", default=99.9)
    differential_subtraction: str = _f("", default="analog")
    parallel_rows: int = _f("count", default=0)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "name":
                require(isinstance(value, str) and value != "", "name", "a non-empty string")
            elif f.name in CHOICES:
                allowed = CHOICES[f.name]
                require(value in allowed, f.name, f"one of {', '.join(map(repr, allowed))}")
            elif f.type == "int":
                minimum = 0 if f.metadata["unit"] == "cycle" or f.name in ZERO_ALLOWED else 1
                require(
                    isinstance(value, int) and not isinstance(value, bool) and value >= minimum,
                    f.name,
                    f"an integer >= {minimum}" + ZERO_ALLOWED.get(f.name, ""),
                )
            else:
                require(
                    isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0,
                    f.name,
                    "a number >= 0",
                )
        require(self.clock_mhz > 0, "clock_mhz", "a number > 0")
        for key in ("chip_link_gbps", "dram_gbps", "reticle_mm2"):
            require(getattr(self, key) > 0, key, "a number > 0")
        require(
            self.crossbar_columns % self.columns_per_adc == 0,
            "columns_per_adc",
            f"a divisor of crossbar_columns ({self.crossbar_columns})",
        )
        require(
            self.columns_per_weight <= self.crossbar_columns,
            "weight_bits",
            f"small enough that one weight's {self.columns_per_weight} columns fit a crossbar",
        )
        require(
            self.crossbar_read_cycles + self.adc_cycles >= 1,
            "adc_cycles",
            "such that a read and a conversion take at least one cycle together",
        )

        require(
            0 < self.adc_full_scale <= 1,
            "adc_full_scale",
            "a fraction in (0, 1] of a column's largest partial sum",
        )
        require(
            0 < self.adc_range_percentile <= 100,
            "adc_range_percentile",
            "a percentile in (0, 100] of the calibration partial sums",
        )
        require(
            self.parallel_rows <= self.crossbar_rows,
            "parallel_rows",
            f"at most crossbar_rows ({self.crossbar_rows}), or 0 for all of them",
        )
        require(
            not self.signed_conversion or self.adc_bits >= 2,
            "adc_bits",
            ">= 2 when differential pairs are subtracted before the ADC (a sign and a "
            "magnitude bit); or set differential_subtraction = 'digital'",
        )
        require(
            self.stuck_at_0_rate + self.stuck_at_1_rate <= 1,
            "stuck_at_1_rate",
            "such that stuck_at_0_rate + stuck_at_1_rate <= 1",
        )
        require(
            self.on_off_ratio == 0 or self.on_off_ratio > 1,
            "on_off_ratio",
            "0 (ideal: an off cell conducts nothing) or a ratio > 1",
        )

        require(
            self.gated_leakage_fraction <= 1,
            "gated_leakage_fraction",
            "a fraction in [0, 1] of a tile's leakage that remains while it is gated",
        )
        shortest = self.crossbar_read_cycles + self.adc_conversion_cycles + self.pe_overhead_cycles
        require(
            self.idle_position_cycles <= shortest,
            "idle_position_cycles",
            f"at most the shortest PE-cycle ({shortest} cycles): skipping must not be slower",
        )

    @property
    def slices(self) -> int:
        """Cells (columns) per weight magnitude: weight bits sliced over multi-bit cells."""
        return -(-self.weight_bits // self.bits_per_cell)

    @property
    def columns_per_weight(self) -> int:
        return self.slices * (2 if self.signed_weights == "differential" else 1)

    @property
    def signed_conversion(self) -> bool:
        """Whether an ADC converts a signed difference: a differential pair subtracted in the
        analog domain (MNSIM 2.0 ``Sub_Position = 0``) before one conversion."""
        return self.signed_weights == "differential" and self.differential_subtraction == "analog"

    @property
    def conversions_per_weight(self) -> int:
        """ADC conversions per weight per row group: one per column, but one per differential
        pair when the pair is subtracted before the ADC."""
        return self.slices if self.signed_conversion else self.columns_per_weight

    def row_groups(self, rows: int) -> int:
        """Conversions per column when ``rows`` rows of a crossbar are read ``parallel_rows``
        at a time (NeuroSim ``numRowParallel``, MNSIM ``DAC_Num``); 0 reads them all at once."""
        return -(-rows // self.parallel_rows) if self.parallel_rows else 1

    @property
    def adcs_per_unit(self) -> int:
        """ADCs of one conversion unit (a PE when sums are analog, else a crossbar)."""
        return self.crossbar_columns // self.columns_per_adc

    @property
    def adc_scale(self) -> float:
        """ADC energy and area at ``adc_bits`` over those quoted at ``adc_reference_bits``:
        ``2^(adc_bits - adc_reference_bits)``. A SAR ADC's energy per conversion is its Walden
        figure of merit × 2^ENOB (Walden, IEEE JSAC 1999; Murmann's ADC survey), and its
        capacitive DAC, most of its area, doubles with each bit; so changing ``adc_bits`` alone
        (a sweep, ``--set adc_bits=...``) moves energy and area with it."""
        reference = self.adc_reference_bits or self.adc_bits
        return 2.0 ** (self.adc_bits - reference)

    @property
    def adc_conversion_pj(self) -> float:
        """Energy of one conversion at ``adc_bits``."""
        return self.adc_pj * self.adc_scale

    @property
    def adc_conversion_cycles(self) -> int:
        """Cycles of one conversion at ``adc_bits``: ``adc_cycles`` is quoted at
        ``adc_reference_bits``, and a SAR ADC resolves one bit per comparison (Murmann, "ADC
        Performance Survey"; the binary search of a SAR converter), so its time scales with
        the bits: ``ceil(adc_cycles · adc_bits / reference)``."""
        reference = self.adc_reference_bits or self.adc_bits
        return -(-self.adc_cycles * self.adc_bits // reference)

    @property
    def adc_each_area_um2(self) -> float:
        """Area of one ADC at ``adc_bits``."""
        return self.adc_area_um2 * self.adc_scale

    @property
    def clock_ns(self) -> float:
        return 1e3 / self.clock_mhz

    @property
    def spikesim_compatible(self) -> bool:
        """Whether only SpikeSim's charges apply (its VGG9 reproduction)."""
        return self.compatibility == "spikesim"

    @property
    def noc_flit_energy_pj(self) -> float:
        """Energy per flit and hop as charged: none in SpikeSim compatibility (SpikeSim folds
        its interconnect into the per-PE-cycle H-tree charge)."""
        return 0.0 if self.spikesim_compatible else self.noc_flit_pj

    @property
    def chip_link_energy_pj_per_bit(self) -> float:
        """Energy per chip-to-chip bit as charged: none in SpikeSim compatibility."""
        return 0.0 if self.spikesim_compatible else self.chip_link_pj_per_bit

    @property
    def link_bits_per_cycle(self) -> float:
        """Bits one chip-to-chip link moves per clock cycle, each direction."""
        return self.chip_link_gbps * 1e3 / self.clock_mhz


def preset_names() -> list[str]:
    return _preset_names(PRESETS)


def load_config(
    name_or_path: str | Path = "spikesim-rram-65nm", overrides: dict[str, Any] | None = None
) -> CimConfig:
    """A preset by name (``simulators/cim/presets``) or a TOML path, with optional overrides."""
    return _load(name_or_path, overrides)[0]


def _load(name_or_path: str | Path, overrides: dict[str, Any] | None) -> tuple[CimConfig, dict]:
    return load_preset(CimConfig, preset_path(PRESETS, name_or_path), overrides)


def resolve(config: CimConfig | str | Path, **overrides: Any) -> tuple[CimConfig, dict]:
    """A config and its ``{key: {unit, source}}`` from a preset name, a path or a dataclass,
    with keyword overrides (``None`` values ignored) applied."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if isinstance(config, (str, Path)):
        return _load(config, overrides)
    if not isinstance(config, CimConfig):
        raise ConfigError(
            f"config must be a CimConfig, a preset name ({', '.join(preset_names())}) or a "
            f"path to a .toml file, got {type(config).__name__}"
        )
    unknown = set(overrides) - {f.name for f in dataclasses.fields(CimConfig)}
    if unknown:
        raise ConfigError(f"override: unknown key(s) {sorted(unknown)}")
    sources = sources_of(config)
    changed = {k: {**sources.get(k, {}), "source": OVERRIDE} for k in overrides}
    return dataclasses.replace(config, **overrides), {**sources, **changed}
