"""The same chip in closed form: dense counts, rate-based estimates, and the latency lower bound.

- :func:`dense_work` gives a layer's dense work per row from its mapping alone (positions ×
  crossbars × bit-planes), the check of the SimPy run in dense mode;
- :func:`rate_work` gives expected work when each input neuron spikes independently with the
  measured rate of its step (a crossbar of ``n`` used rows is read with probability
  ``1 - (1 - r)^n``; borders and correlations are ignored, so this is an estimate);
- :func:`latency_bound` is a lower bound on one inference's latency, given per-row cycles: a
  layer cannot start before the rows its first row needs have been computed, integrated and sent;
  in the last time step a row cannot start before the layer's earlier work and its input rows are
  done; shared units (neuron units, tile ports) cannot be busy longer than the run. The SimPy
  model obeys all of these and adds contention and the waits of earlier steps, so it is never
  faster; in dense mode it stays within a fraction of a percent (tests).
"""

from __future__ import annotations

import numpy as np

from simulators.cim.config import CimConfig
from simulators.cim.dataflow import Requirement
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
    )


def rate_work(
    m: LayerMapping, config: CimConfig, costs: LayerCosts, rates: np.ndarray
) -> LayerWork:
    """Expected work when input neurons spike independently at ``rates[t]``."""
    steps = len(rates)
    if not m.binary_input:
        return dense_work(m, config, costs, steps)
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
    )


def latency_bound(
    mapping: ChipMapping,
    work: dict[str, LayerWork],
    requirements: list[Requirement],
    packets: list[Packets],
    sample: int = 0,
) -> float:
    """Lower bound on the cycles of one inference (see the module docstring).

    Per layer: the earliest start of its first row (the rows it needs of step 0 computed,
    integrated and sent), then, for the last time step, row by row: a row's arrays cannot start
    before the layer's earlier work and the row's input rows are done, its output stage not
    before the row, the previous row and the residual inputs are done.
    """
    flight = {(p.source, p.target): p.latency() for p in packets}
    needs: dict[tuple[str, str], list[Requirement]] = {}
    for r in requirements:
        needs.setdefault((r.layer, r.stage), []).append(r)
    start: dict[str, float] = {}
    last_out: dict[str, np.ndarray] = {}  # output-stage completion of each row of the last step

    def first_arrival(source: str, target: str, row: int) -> float:
        m, w = mapping.layers[source], work[source]
        cycles = w.compute_cycles[sample, 0]
        computed = cycles[: row + 1].sum() if m.shared else cycles[row]
        neuron = w.neuron_cycles[sample, 0, row]
        return start[source] + computed + neuron + flight[source, target][row]

    def ready(name: str, stage: str) -> np.ndarray:
        """Per row of the last step: when every row it needs for ``stage`` can have arrived."""
        when = np.zeros(mapping.layers[name].rows)
        for r in needs.get((name, stage), []):
            arrived = last_out[r.source] + flight[r.source, name]
            when = np.maximum(when, np.where(r.prefix > 0, arrived[r.prefix - 1], 0.0))
        return when

    for name in _dependency_order(mapping, requirements):
        m, w = mapping.layers[name], work[name]
        cycles, neuron = w.compute_cycles[sample], w.neuron_cycles[sample, -1]
        firsts = [
            first_arrival(r.source, name, r.prefix[0] - 1)
            for r in needs.get((name, "compute"), [])
            if r.prefix[0] > 0
        ]
        start[name] = max(firsts, default=0.0)
        earlier = start[name] + (cycles[:-1].sum() if m.shared else cycles[:-1].sum(0))
        inputs, residual = ready(name, "compute"), ready(name, "output")
        computed = np.zeros(m.rows)
        out = np.zeros(m.rows)
        for row in range(m.rows):
            begin = max(earlier if m.shared else earlier[row], inputs[row])
            if m.shared and row:
                begin = max(begin, computed[row - 1])
            computed[row] = begin + cycles[-1, row]
            previous = out[row - 1] if m.shared and row else 0.0
            out[row] = max(computed[row], previous, residual[row]) + neuron[row]
        last_out[name] = out
    done = max(float(out.max()) for out in last_out.values())
    return max(done, *_resource_busy(mapping, work, packets, sample))


def _dependency_order(mapping: ChipMapping, requirements: list[Requirement]) -> list[str]:
    """Layers ordered so that every layer follows the layers it waits for (a residual add may
    wait for a shortcut conv that comes later in the graph)."""
    waits = {name: set() for name in mapping.layers}
    for r in requirements:
        waits[r.layer].add(r.source)
    order: list[str] = []
    while len(order) < len(waits):
        order += [n for n, w in waits.items() if n not in order and w <= set(order)]
    return order


def busiest_unit_cycles(
    mapping: ChipMapping, work: dict[str, LayerWork], packets: list[Packets], sample: int = 0
) -> float:
    """Cycles per inference of the busiest unit (a layer's arrays, a tile's neuron units or
    port): in steady state, inferences cannot stream faster than one per this many cycles."""
    arrays = [
        float(w.compute_cycles[sample].sum())
        if mapping.layers[n].shared
        else float(w.compute_cycles[sample].sum(0).max())
        for n, w in work.items()
    ]
    return max(*arrays, *_resource_busy(mapping, work, packets, sample))


def _resource_busy(
    mapping: ChipMapping, work: dict[str, LayerWork], packets: list[Packets], sample: int
) -> list[float]:
    """Total cycles each tile's neuron units and injection port must work for one inference."""
    neuron: dict[int, float] = {}
    for name, w in work.items():
        per_row = w.neuron_cycles[sample].sum(0)
        for row, cycles in enumerate(per_row):
            tile = mapping.row_tile(name, row)
            neuron[tile] = neuron.get(tile, 0.0) + cycles
    port: dict[int, float] = {}
    steps = next(iter(work.values())).compute_cycles.shape[1]
    for p in packets:
        for tile, flits in zip(p.source_tiles, p.flits, strict=True):
            port[tile] = port.get(tile, 0.0) + flits * steps
    return [*neuron.values(), *port.values(), 0.0]
