"""The work of every layer, per sample, time step and output row, counted with numpy.

The unit of work is the *PE-cycle*: one PE processing one input window (one output position) for
one time step and one input bit-plane. In a PE-cycle the PE reads its crossbars in ADC phases
(``columns_per_adc`` phases when every column is used), converts the columns, and hands the
partial-sum vector to the tile. Per output position three numbers say how much happened:

- ``xbar``: crossbars read (one per row block holding weights, per column block alike);
- ``pe``: PE-cycles (a PE with at least one read crossbar);
- ``neuron``: neuron-unit operations (each PE-cycle's vector is integrated into the membranes; in
  event mode a position without any PE-cycle still takes one leak-only update);
- ``rows``: active rows summed over the read crossbars of one column block (the window's input
  spikes; every weight row in dense mode and for bit-serial inputs), which prices a read's word
  lines and a conversion's column current (``crossbar_row_read_pj``, ``adc_row_pj``).

Dense mode reads every crossbar at every position (as SpikeSim does). Event mode reads a crossbar
only if at least one of its rows receives a spike in the window (``zero_input_reads = "skip"``;
with ``"read"``, as NeuroSim, every crossbar is read and converted, and only the active rows
follow the spikes); layers with real-valued input
(the stem, a layer after average pooling) are always dense and fed bit-serially
(``real_input_bits`` passes). A layer computed once per inference (the stem on a static image,
:func:`simulators.ir.computed_once`) does its crossbar work at step 0 only
(:func:`first_step_only`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.cim.config import CimConfig
from simulators.cim.mapping import LayerMapping


@dataclass(frozen=True)
class LayerCosts:
    """Per-PE-cycle constants of a mapped layer (sums over its column blocks)."""

    phases: int
    phase_sum: int
    columns: int
    lanes: int
    outputs: int
    column_blocks: int
    pe_cycle_cycles: int
    shift_adds: int
    row_groups: int = 1
    merge_adds: int = 0

    @classmethod
    def of(cls, m: LayerMapping, config: CimConfig) -> LayerCosts:
        """Conversions follow the encoding and the read: one per column, or per differential
        pair subtracted before the ADC (``conversions_per_weight``), in every row group a
        crossbar is read in (``parallel_rows``); each row group is one more read and set of ADC
        phases, merged by a digital add, as is a pair subtracted after the ADC."""
        adcs = config.adcs_per_unit
        groups = config.row_groups(max(m.block_rows))
        used = [n * config.conversions_per_weight for n in m.outputs_per_block]
        phases = [groups * -(-u // adcs) for u in used]
        bit_serial = 1 if m.passes > 1 else 0
        outputs = sum(m.outputs_per_block)
        digital_pairs = config.signed_weights == "differential" and not config.signed_conversion
        pairs = groups * outputs * config.slices if digital_pairs else 0
        return cls(
            phases=max(phases),
            phase_sum=sum(phases),
            columns=sum(used),
            lanes=sum(min(u, adcs) for u in used),
            outputs=outputs,
            column_blocks=m.column_blocks,
            pe_cycle_cycles=max(phases)
            * (config.crossbar_read_cycles + config.adc_conversion_cycles)
            + config.pe_overhead_cycles,
            shift_adds=outputs * (config.slices - 1 + bit_serial),
            row_groups=groups,
            merge_adds=(groups - 1) * sum(used) + pairs,
        )


def events(costs: LayerCosts, config: CimConfig, xbar, pe, neuron, rows) -> dict[str, object]:
    """Action counts from crossbar reads, PE-cycles, neuron ops and active rows (scalars or
    arrays). A row-read is one active row in one ADC phase's read (NeuroSim charges its word
    line per phase: ``numColMuxed`` × ``activityRowRead``); a row-conversion is one active row
    under one converted column (the column's conductance)."""
    units = pe if config.pe_accumulation == "analog" else xbar
    tree = (xbar - pe) * costs.columns if config.pe_accumulation == "digital" else 0 * pe
    pe_cycles = pe * costs.column_blocks
    priced_rows = {  # only where the preset prices active rows (SpikeSim's reports unchanged)
        "crossbar_row_reads": (config.crossbar_row_read_pj, rows * costs.phase_sum),
        "adc_row_conversions": (config.adc_row_pj, rows * costs.columns),
    }
    return {
        "crossbar_reads": xbar * costs.phase_sum,
        **{action: n for action, (pj, n) in priced_rows.items() if pj},
        "adc_conversions": units * costs.columns * costs.row_groups,
        "mux_selects": units * costs.columns * costs.row_groups,
        "temp_buffer_writes": units * costs.lanes,
        "subtractor_bit_ops": units * costs.lanes * config.psum_bits,
        "adds": tree + pe * costs.shift_adds + units * costs.merge_adds,
        "input_fetches": pe_cycles if config.input_fetch_scope == "pe-cycle" else pe,
        "htree_transfers": pe_cycles,
        "tile_buffer_accesses": pe_cycles,
        "neuron_ops": neuron * costs.column_blocks,
    }


@dataclass
class LayerWork:
    """``[samples, T, rows]`` arrays of one layer: work summed over a row's positions and
    bit-planes, the row's crossbar-array cycles, its neuron-unit cycles and active rows."""

    xbar: np.ndarray
    pe: np.ndarray
    neuron: np.ndarray
    compute_cycles: np.ndarray
    neuron_cycles: np.ndarray
    rows: np.ndarray


def active_crossbars(spikes: np.ndarray, m: LayerMapping, config: CimConfig) -> np.ndarray:
    """Read crossbars per PE group and output position, ``[T, groups, Ho, Wo]``, from bool
    input spikes ``[T, C, H, W]``: a crossbar is read if a row of it sees a spike."""
    steps, channels = spikes.shape[:2]
    rows = config.crossbar_rows
    (kh, kw), (sh, sw), (ph, pw) = m.kernel, m.stride, m.padding
    ho, wo = m.out_shape[1:]
    x = np.pad(spikes, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    taps = [
        (slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw))
        for i in range(kh)
        for j in range(kw)
    ]
    if config.mapping == "kernel-split":
        blocks = -(-channels // rows)
        x = np.pad(x, ((0, 0), (0, blocks * rows - channels), (0, 0), (0, 0)))
        x = x.reshape(steps, blocks, rows, *x.shape[2:]).any(2)
        active = np.stack([x[:, :, ys, xs] for ys, xs in taps], axis=2)
    else:
        unrolled = np.stack([x[:, :, ys, xs] for ys, xs in taps], axis=2)
        unrolled = unrolled.reshape(steps, channels * kh * kw, ho, wo)
        pad = m.row_blocks * rows - unrolled.shape[1]
        unrolled = np.pad(unrolled, ((0, 0), (0, pad), (0, 0), (0, 0)))
        active = unrolled.reshape(steps, m.row_blocks, rows, ho, wo).any(2)
    active = active.reshape(steps, m.row_blocks, ho, wo)
    cpp = m.crossbars_per_pe
    pad = m.pe_groups * cpp - m.row_blocks
    active = np.pad(active, ((0, 0), (0, pad), (0, 0), (0, 0)))
    return active.reshape(steps, m.pe_groups, cpp, ho, wo).sum(2, dtype=np.int32)


def window_spikes(spikes: np.ndarray, m: LayerMapping) -> np.ndarray:
    """Input spikes per window ``[T, Ho, Wo]``: the active rows of that window's read (zero
    padding never drives a row), the same under either mapping style."""
    (kh, kw), (sh, sw), (ph, pw) = m.kernel, m.stride, m.padding
    ho, wo = m.out_shape[1:]
    x = np.pad(spikes.sum(1, dtype=np.int32), ((0, 0), (ph, ph), (pw, pw)))
    return sum(
        x[:, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw]
        for i in range(kh)
        for j in range(kw)
    )


def _row_cycles(position_cycles: np.ndarray, m: LayerMapping) -> np.ndarray:
    """Cycles per row ``[T, Ho]``: positions split over weight copies that run in parallel."""
    if not m.shared:
        return position_cycles.max(-1)
    steps, ho, wo = position_cycles.shape
    per_copy = -(-wo // m.copies)
    padded = np.pad(position_cycles, ((0, 0), (0, 0), (0, per_copy * m.copies - wo)))
    return padded.reshape(steps, ho, per_copy, m.copies).sum(2).max(-1)


def layer_work(
    m: LayerMapping, config: CimConfig, costs: LayerCosts, spikes: np.ndarray | None, steps: int
) -> LayerWork:
    """Work of one sample: event-driven from bool ``spikes [T, C, H, W]``, dense if ``None``."""
    ho, wo = m.out_shape[1:]
    pe_time = m.passes * costs.pe_cycle_cycles
    if spikes is None or config.zero_input_reads == "read":
        shape = (steps, ho)
        xbar = np.full(shape, m.row_blocks * wo * m.passes, np.int64)
        pe = np.full(shape, m.pe_groups * wo * m.passes, np.int64)
        neuron = np.full(shape, m.pe_groups * wo, np.int64)
        position_cycles = np.full((steps, ho, wo), pe_time, np.int64)
    else:
        per_group = active_crossbars(spikes, m, config)
        active_pes = (per_group > 0).sum(1)
        xbar = per_group.sum(1).sum(-1, dtype=np.int64)
        pe = active_pes.sum(-1, dtype=np.int64)
        neuron = np.maximum(active_pes, 1).sum(-1, dtype=np.int64)
        position_cycles = np.where(active_pes > 0, pe_time, config.idle_position_cycles)
    if spikes is None:
        rows = np.full((steps, ho), sum(m.block_rows) * wo * m.passes, np.int64)
    else:
        rows = window_spikes(spikes, m).sum(-1, dtype=np.int64)
    units = config.neuron_units_per_tile
    return LayerWork(
        xbar=xbar,
        pe=pe,
        neuron=neuron,
        compute_cycles=_row_cycles(position_cycles, m),
        neuron_cycles=-(-(neuron * costs.column_blocks) // units) * config.neuron_cycles,
        rows=rows,
    )


def first_step_only(work: LayerWork) -> LayerWork:
    """The work of a layer computed once per inference (static input): crossbars read and
    PE-cycles at step 0 only; its held output still enters the neuron units at every step."""
    later = (slice(None), slice(1, None))
    xbar, pe, compute = work.xbar.copy(), work.pe.copy(), work.compute_cycles.copy()
    rows = work.rows.copy()
    for array in (xbar, pe, compute, rows):
        array[later] = 0
    return LayerWork(xbar, pe, work.neuron, compute, work.neuron_cycles, rows)
