"""The same chip in closed form: dense counts, rate-based estimates, and the latency lower bound.

- :func:`dense_work` gives a layer's dense work per row from its mapping alone (positions ×
  crossbars × bit-planes), the check of the SimPy run in dense mode;
- :func:`rate_work` gives expected work when each input neuron spikes independently with the
  measured rate of its step (a crossbar of ``n`` used rows is read with probability
  ``1 - (1 - r)^n``; borders and correlations are ignored, so this is an estimate);
- :func:`latency_bound` is a lower bound on one inference's latency, given per-row cycles: at
  every step a row cannot start before the layer's earlier work and its input rows are done
  (computed, integrated, and sent through the source tile's port behind that layer's earlier
  packets); shared units (neuron units, tile ports) cannot be busy longer than the run. The SimPy
  model obeys all of these and adds contention between layers, so it is never
  faster; in dense mode it stays within a fraction of a percent (tests).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from simulators.cim.config import CimConfig
from simulators.cim.dataflow import Requirement, layer_order
from simulators.cim.mapping import ChipMapping, LayerMapping
from simulators.cim.network import Packets
from simulators.cim.work import LayerCosts, LayerWork


def _per_row(m: LayerMapping, steps: int, value: float) -> np.ndarray:
    return np.full((1, steps, m.rows), value)


def _row_time(m: LayerMapping, position_cycles: float) -> float:
    return position_cycles * (-(-m.width // m.copies) if m.shared else 1)


def dense_work(m: LayerMapping, config: CimConfig, costs: LayerCosts, steps: int) -> LayerWork:
    """Dense work from the mapping: every crossbar of every PE read at every position."""
    pe_time = m.passes * costs.pe_cycle_cycles
    neuron_ops = m.pe_groups * m.width * costs.column_blocks
    return LayerWork(
        xbar=_per_row(m, steps, m.row_blocks * m.width * m.passes),
        pe=_per_row(m, steps, m.pe_groups * m.width * m.passes),
        neuron=_per_row(m, steps, m.pe_groups * m.width),
        compute_cycles=_per_row(m, steps, _row_time(m, pe_time)),
        neuron_cycles=_per_row(
            m, steps, -(-neuron_ops // config.neuron_units_per_tile) * config.neuron_cycles
        ),
        rows=_per_row(m, steps, sum(m.block_rows) * m.width * m.passes),
    )


def rate_work(
    m: LayerMapping, config: CimConfig, costs: LayerCosts, rates: np.ndarray
) -> LayerWork:
    """Expected work when input neurons spike independently at ``rates[t]``."""
    steps = len(rates)
    if not m.binary_input:
        return dense_work(m, config, costs, steps)
    if config.zero_input_reads == "read":
        dense = dense_work(m, config, costs, steps)
        active = np.asarray(rates, float)[None, :, None] * sum(m.block_rows) * m.width
        return dataclasses.replace(dense, rows=np.repeat(active, m.rows, 2))
    silent = (1 - np.asarray(rates, float))[:, None]  # [T, 1]
    rows = np.asarray(m.block_rows)
    cpp = m.crossbars_per_pe
    group_rows = np.array([rows[g * cpp : (g + 1) * cpp].sum() for g in range(m.pe_groups)])
    xbar = (1 - silent**rows).sum(1)
    pe = (1 - silent**group_rows).sum(1)
    quiet = silent[:, 0] ** rows.sum()
    pe_time = costs.pe_cycle_cycles
    position = (1 - quiet) * pe_time + quiet * config.idle_position_cycles
    neuron_ops = (pe + quiet) * m.width * costs.column_blocks
    return LayerWork(
        xbar=np.repeat((xbar * m.width)[None, :, None], m.rows, 2),
        pe=np.repeat((pe * m.width)[None, :, None], m.rows, 2),
        neuron=np.repeat(((pe + quiet) * m.width)[None, :, None], m.rows, 2),
        compute_cycles=np.repeat(_row_time(m, position)[None, :, None], m.rows, 2),
        neuron_cycles=np.repeat(
            (np.ceil(neuron_ops / config.neuron_units_per_tile) * config.neuron_cycles)[
                None, :, None
            ],
            m.rows,
            2,
        ),
        rows=np.repeat((np.asarray(rates, float) * rows.sum() * m.width)[None, :, None], m.rows, 2),
    )


def latency_bound(
    mapping: ChipMapping,
    work: dict[str, LayerWork],
    requirements: list[Requirement],
    packets: list[Packets],
    sample: int = 0,
) -> float:
    """Lower bound on the cycles of one inference (see the module docstring).

    Per layer, step by step and row by row: a row's arrays cannot start before the layer's
    earlier work (a shared layer's arrays take rows and steps in order; an unshared row's arrays
    take its steps in order) and before the rows it needs of that step have been integrated and
    sent (behind the layer's earlier packets at its port); its output stage not before the row,
    the layer's previous output and the residual inputs are done. The SimPy model obeys every one
    of these and adds contention between layers for shared neuron units and ports.
    """
    sent_by: dict[str, list[Packets]] = {}
    for p in packets:
        sent_by.setdefault(p.source, []).append(p)
    needs: dict[tuple[str, str], list[Requirement]] = {}
    for r in requirements:
        needs.setdefault((r.layer, r.stage), []).append(r)
    outputs: dict[str, np.ndarray] = {}  # output-stage completion [T, rows] of each layer
    arrivals: dict[tuple[str, str], np.ndarray] = {}  # [T, rows] at each target

    def ready(name: str, stage: str, step: int) -> np.ndarray:
        """Per row of ``step``: when every row it needs for ``stage`` can have arrived."""
        when = np.zeros(mapping.layers[name].rows)
        for r in needs.get((name, stage), []):
            arrived = arrivals[r.source, name][step]
            when = np.maximum(when, np.where(r.prefix > 0, arrived[r.prefix - 1], 0.0))
        return when

    for name in layer_order(mapping.layers, requirements):
        m, w = mapping.layers[name], work[name]
        cycles, neuron = w.compute_cycles[sample], w.neuron_cycles[sample]
        steps = cycles.shape[0]
        free = np.zeros(1 if m.shared else m.rows)  # when the arrays are next free
        out = np.zeros((steps, m.rows))
        last = np.zeros(1 if m.shared else m.rows)  # the layer's previous output stage
        for t in range(steps):
            inputs, residual = ready(name, "compute", t), ready(name, "output", t)
            for row in range(m.rows):
                unit = 0 if m.shared else row
                computed = max(free[unit], inputs[row]) + cycles[t, row]
                free[unit] = computed
                out[t, row] = max(computed, last[unit], residual[row]) + neuron[t, row]
                last[unit] = out[t, row]
        outputs[name] = out
        arrivals.update(_arrivals(m, out, sent_by.get(name, [])))
    done = max(float(out.max()) for out in outputs.values())
    return max(done, *_resource_busy(mapping, work, packets, sample))


def _arrivals(
    m: LayerMapping, out: np.ndarray, sent: list[Packets]
) -> dict[tuple[str, str], np.ndarray]:
    """When each row of each step reaches each target ``[T, rows]``: a row's packets queue at
    its tile's port (one flit per cycle) behind the packets the layer sent before them, in the
    order the chip sends them (rows in order for a shared layer, each row's steps in order for
    an unshared one; streams in order). Other layers' packets on the same port are ignored."""
    steps = out.shape[0]
    arrived = {(p.source, p.target): np.zeros_like(out) for p in sent}
    port = np.zeros(1 if m.shared else m.rows)  # when the port is next free
    for t in range(steps):
        for row in range(m.rows):
            unit = 0 if m.shared else row
            for p in sent:
                if p.flits[row] == 0 and p.flight_cycles[row] == 0:
                    arrived[p.source, p.target][t, row] = out[t, row]
                    continue
                port[unit] = max(port[unit], out[t, row]) + p.flits[row]
                link = 2 * p.link_cycles[row]  # outgoing, then incoming link(s)
                arrived[p.source, p.target][t, row] = port[unit] + link + p.flight_cycles[row]
    return arrived


def admission_cycles(
    mapping: ChipMapping,
    work: dict[str, LayerWork],
    requirements: list[Requirement],
    sample: int = 0,
) -> float:
    """Cycles per inference of the layers that read the chip's input (their arrays): images
    stream in no faster than one per this many cycles. Where the busiest unit is slower, each
    streamed image also waits for the earlier ones, and the simulated latency grows with the
    number of images."""
    waiting = {r.layer for r in requirements}
    return max(
        _array_cycles(mapping.layers[n], w, sample) for n, w in work.items() if n not in waiting
    )


def _array_cycles(m: LayerMapping, w: LayerWork, sample: int) -> float:
    """Busy cycles per inference of a layer's arrays (an unshared layer's busiest row's)."""
    cycles = w.compute_cycles[sample]
    return float(cycles.sum()) if m.shared else float(cycles.sum(0).max())


def busiest_unit_cycles(
    mapping: ChipMapping, work: dict[str, LayerWork], packets: list[Packets], sample: int = 0
) -> float:
    """Cycles per inference of the busiest unit (a layer's arrays, a tile's neuron units or
    port): in steady state, inferences cannot stream faster than one per this many cycles."""
    arrays = [_array_cycles(mapping.layers[n], w, sample) for n, w in work.items()]
    return max(*arrays, *_resource_busy(mapping, work, packets, sample))


def _resource_busy(
    mapping: ChipMapping, work: dict[str, LayerWork], packets: list[Packets], sample: int
) -> list[float]:
    """Total cycles each tile's neuron units and injection port, and each chip's outgoing link,
    must work for one inference."""
    neuron: dict[int, float] = {}
    for name, w in work.items():
        per_row = w.neuron_cycles[sample].sum(0)
        for row, cycles in enumerate(per_row):
            tile = mapping.row_tile(name, row)
            neuron[tile] = neuron.get(tile, 0.0) + cycles
    port: dict[int, float] = {}
    steps = next(iter(work.values())).compute_cycles.shape[1]
    link: dict[int, float] = {}
    for p in packets:
        for tile, flits, busy in zip(p.source_tiles, p.flits, p.link_cycles, strict=True):
            port[tile] = port.get(tile, 0.0) + flits * steps
            chip = tile // mapping.config.tiles_per_chip
            link[chip] = link.get(chip, 0.0) + busy * steps
    return [*neuron.values(), *port.values(), *link.values(), 0.0]
