"""The chip as SimPy processes; one time unit is one clock cycle.

A shared layer is one process: for every sample, time step and output row it waits until the
rows its windows need have arrived, then keeps its crossbar arrays busy for the row's cycles (a
``timeout``; the cycles come from the spike maps, see :mod:`work`). An unshared layer has a
process per output row (every position has its own crossbars, so rows run in parallel). A
finished row goes to the output stage of its tile: the tile's neuron units (a ``Resource`` shared
by the layers on that tile) integrate it and fire, after any other rows its residual add needs
have arrived; rows leave a layer in order. Spikes then travel as packets: the tile's injection
port (a ``Resource``) sends one flit per cycle; a packet for other chips then holds its chip's
outgoing link and each destination chip's incoming link (``Resource`` s) for its bits over the
link bandwidth, and is in flight for its hops and the link's latency.

Layers overlap by rows (a row starts as soon as its input rows exist), by time steps (step t+1
of a layer runs while the next layer works on step t) and by samples (inferences stream through).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.core import NORMAL

from simulators.cim.dataflow import Requirement
from simulators.cim.mapping import ChipMapping, LayerMapping
from simulators.cim.network import Packets
from simulators.cim.work import LayerWork


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it schedules."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled = 0

    def schedule(self, event: simpy.Event, priority: int = NORMAL, delay: float = 0) -> None:
        self.scheduled += 1
        super().schedule(event, priority, delay)


@dataclass(frozen=True)
class SimResult:
    """Per-sample latency (first crossbar read to last neuron update), the stream's makespan."""

    latency_cycles: np.ndarray
    makespan_cycles: float
    simpy_events: int


class Chip:
    """Processes and resources of one simulation run."""

    def __init__(
        self,
        mapping: ChipMapping,
        work: dict[str, LayerWork],
        requirements: list[Requirement],
        packets: list[Packets],
    ) -> None:
        self.env = CountingEnvironment()
        self.mapping, self.work = mapping, work
        self.samples, self.steps = next(iter(work.values())).compute_cycles.shape[:2]
        self.needs: dict[tuple[str, str], list[Requirement]] = {}
        for r in requirements:
            self.needs.setdefault((r.layer, r.stage), []).append(r)
        self.outgoing: dict[str, list[Packets]] = {}
        for p in packets:
            self.outgoing.setdefault(p.source, []).append(p)
        self.neuron_units: dict[int, simpy.Resource] = {}
        self.ports: dict[int, simpy.Resource] = {}
        self.links_out: dict[int, simpy.Resource] = {}
        self.links_in: dict[int, simpy.Resource] = {}
        self.arrivals: dict[tuple, simpy.Event] = {}
        self.waited: dict[tuple, int] = {}
        self.start = np.full(self.samples, np.inf)
        self.end = np.zeros(self.samples)
        self.rows_done = 0  # output stages finished (samples x steps x rows when all is done)

    def run(self) -> SimResult:
        for m in self.mapping.layers.values():
            if m.shared:
                self.env.process(self.layer(m))
            else:
                for row in range(m.rows):
                    self.env.process(self.layer(m, row))
        self.env.run()
        expected = self.samples * self.steps * sum(m.rows for m in self.mapping.layers.values())
        if self.rows_done != expected:  # SimPy stops when no event is left, blocked or not
            raise RuntimeError(
                f"the CIM simulation stopped with {self.rows_done} of {expected} layer rows "
                "done: its processes deadlocked (a bug in the chip model or in the graph's "
                "dataflow; please report it with the model)"
            )
        return SimResult(self.end - self.start, float(self.end.max()), self.env.scheduled)

    def _resource(self, pool: dict[int, simpy.Resource], tile: int) -> simpy.Resource:
        if tile not in pool:
            pool[tile] = simpy.Resource(self.env, capacity=1)
        return pool[tile]

    def arrival(self, source: str, target: str, sample: int, step: int, row: int) -> simpy.Event:
        key = (source, target, sample, step, row)
        if key not in self.arrivals:
            self.arrivals[key] = self.env.event()
        return self.arrivals[key]

    def wait_rows(
        self, m: LayerMapping, stage: str, sample: int, step: int, row: int, key: tuple | None
    ) -> Generator:
        """Wait until every row that ``row`` of ``m`` needs for ``stage`` has arrived (``key``
        remembers how far an in-order waiter got; ``None`` starts from row 0)."""
        for r in self.needs.get((m.name, stage), []):
            counter = (key, r.source, sample, step)
            have = self.waited.get(counter, 0) if key is not None else 0
            while have < r.prefix[row]:
                yield self.arrival(r.source, m.name, sample, step, have)
                have += 1
            if key is not None:
                self.waited[counter] = have

    def layer(self, m: LayerMapping, only_row: int | None = None) -> Generator:
        """Crossbar arrays of a layer (or of one row of an unshared layer)."""
        cycles = self.work[m.name].compute_cycles
        rows = range(m.rows) if only_row is None else (only_row,)
        key = (m.name, "compute") if only_row is None else None
        previous = None
        for sample in range(self.samples):
            for step in range(self.steps):
                for row in rows:
                    yield from self.wait_rows(m, "compute", sample, step, row, key)
                    self.start[sample] = min(self.start[sample], self.env.now)
                    yield self.env.timeout(cycles[sample, step, row])
                    previous = self.env.process(self.output(m, sample, step, row, previous))

    def output(
        self, m: LayerMapping, sample: int, step: int, row: int, previous: simpy.Process | None
    ) -> Generator:
        """Neuron units integrate and fire one row; its packets leave."""
        if previous is not None:
            yield previous
        key = (m.name, "output") if m.shared else None
        yield from self.wait_rows(m, "output", sample, step, row, key)
        tile = self.mapping.row_tile(m.name, row)
        with self._resource(self.neuron_units, tile).request() as request:
            yield request
            yield self.env.timeout(self.work[m.name].neuron_cycles[sample, step, row])
        self.end[sample] = max(self.end[sample], self.env.now)
        self.rows_done += 1
        for p in self.outgoing.get(m.name, []):
            if p.flits[row] == 0 and p.flight_cycles[row] == 0:
                self.arrival(p.source, p.target, sample, step, row).succeed()
            else:
                self.env.process(self.send(p, sample, step, row))

    def send(self, p: Packets, sample: int, step: int, row: int) -> Generator:
        with self._resource(self.ports, int(p.source_tiles[row])).request() as request:
            yield request
            yield self.env.timeout(p.flits[row])
        if p.link_cycles[row]:
            chip = int(p.source_tiles[row]) // self.mapping.config.tiles_per_chip
            with self._resource(self.links_out, chip).request() as request:
                yield request
                yield self.env.timeout(p.link_cycles[row])
            for target in p.link_chips[row]:
                with self._resource(self.links_in, target).request() as request:
                    yield request
                    yield self.env.timeout(p.transfer_cycles(row))
        yield self.env.timeout(p.flight_cycles[row])
        self.arrival(p.source, p.target, sample, step, row).succeed()


def run(
    mapping: ChipMapping,
    work: dict[str, LayerWork],
    requirements: list[Requirement],
    packets: list[Packets],
) -> SimResult:
    """Simulate every sample's inference streaming through the chip."""
    return Chip(mapping, work, requirements, packets).run()
