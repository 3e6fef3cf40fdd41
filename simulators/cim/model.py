"""``simulate(graph, activity, config) -> Report``: map, count, simulate, price, summarize."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulators.activity import Activity, ActivityError
from simulators.cim import chips, closed_form, dataflow, energy, gating, sim
from simulators.cim.config import CimConfig, resolve
from simulators.cim.mapping import ChipMapping, map_graph, mapping_table
from simulators.cim.network import Packets, Reduction, packets, reduction
from simulators.cim.work import LayerCosts, LayerWork, events, first_step_only, layer_work
from simulators.ir import Graph, Node, computed_once, static_input_policy
from simulators.per_image import activity_per_image
from simulators.report import Report


def _maps(activity: Activity, edge: str, samples: int, shape: tuple[int, ...]) -> np.ndarray:
    """Bool spike maps of the first ``samples`` samples, ``[samples, T, C, H, W]`` (1-D edges as
    ``[F, 1, 1]``), reading only the chunks that hold them."""
    chunks, have = [], 0
    for chunk in activity.iter_maps(edge):
        chunks.append(chunk[: samples - have])
        have += len(chunks[-1])
        if have == samples:
            break
    return np.concatenate(chunks).reshape(samples, activity.timesteps, *shape)


def layer_works(
    graph: Graph, activity: Activity, mapping: ChipMapping, samples: int
) -> dict[str, LayerWork]:
    """Work arrays ``[samples, T, rows]`` of every layer, from the spike maps or dense."""
    config, steps = mapping.config, activity.timesteps
    once = computed_once(graph)
    cache: dict[str, np.ndarray] = {}
    works = {}
    for name, m in mapping.layers.items():
        costs = LayerCosts.of(m, config)
        edge = graph[name].inputs[0]
        if config.mode == "event" and m.binary_input and edge not in cache:
            cache[edge] = _maps(activity, edge, samples, m.in_shape)
        per_sample = [
            layer_work(
                m,
                config,
                costs,
                cache[edge][s] if config.mode == "event" and m.binary_input else None,
                steps,
            )
            for s in range(samples)
        ]
        works[name] = LayerWork(
            *(
                np.stack([getattr(w, f.name) for w in per_sample])
                for f in dataclasses.fields(LayerWork)
            )
        )
        if name in once:
            works[name] = first_step_only(works[name])
        works[name] = gating.with_wakeups(works[name], config)
    return works


def digital_ops(
    graph: Graph, node: Node, activity: Activity, samples: int, mode: str
) -> np.ndarray:
    """Adds, compares and selects of a non-weighted node per sample and step ``[samples, T]``:
    residual adds per neuron; a scale or average pool of spikes per input spike (event mode);
    nothing after step 0 for a node computed once (static input)."""
    shape = (samples, activity.timesteps)
    source = node.inputs[0] if node.inputs else None
    spiking = source is not None and graph.is_spiking(source)
    if node.op in ("scale", "avgpool") and mode == "event" and spiking:
        ops = activity.sample_counts(source)[:samples].astype(float)
    elif node.op in ("add", "scale"):
        ops = np.full(shape, float(np.prod(node.shape)))
    elif node.op in ("avgpool", "maxpool"):
        ops = np.full(shape, float(np.prod(graph[source].shape)))
    else:
        ops = np.zeros(shape)
    if node.name in computed_once(graph):
        ops[:, 1:] = 0
    return ops


def _reduced(red: Reduction, pe) -> dict[str, object]:
    """Partial-sum traffic of ``pe`` active PE groups (network.reduction)."""
    return {"psum_flit_hops": pe * red.flit_hops, "psum_link_bits": pe * red.link_bits}


def _counts(
    costs: LayerCosts, config: CimConfig, w: LayerWork, red: Reduction
) -> dict[str, np.ndarray]:
    """Action counts per step ``[T]``, mean over samples."""
    per_step = [getattr(w, k).sum(-1).mean(0) for k in ("xbar", "pe", "neuron", "rows")]
    return {**events(costs, config, *per_step), **_reduced(red, per_step[1])}


def _sample_pj(costs: LayerCosts, config: CimConfig, w: LayerWork, red: Reduction) -> np.ndarray:
    """Dynamic energy of one layer's work per sample ``[samples]``."""
    totals = [getattr(w, k).sum((1, 2)) for k in ("xbar", "pe", "neuron", "rows")]
    counts = {**events(costs, config, *totals), **_reduced(red, totals[1])}
    return sum(
        np.asarray(n, float) * getattr(config, energy.ACTIONS[action][2])
        for action, n in counts.items()
    )


def _network_counts(p: Packets, steps: int) -> dict[str, np.ndarray]:
    return {
        "flit_hops": np.full(steps, float(p.flit_hops.sum())),
        "chip_link_bits": np.full(steps, float(p.link_bits.sum())),
    }


def simulate(
    graph: Graph,
    activity: Activity,
    config: CimConfig | str | Path = "spikesim-rram-65nm",
    *,
    mode: str | None = None,
    samples: int | None = None,
) -> Report:
    """Simulate the traced inferences on a CIM chip: all of them, or the first ``samples``.

    ``config`` is a preset name (:func:`preset_names`), a TOML path or a :class:`CimConfig`;
    ``mode`` (``"event"`` or ``"dense"``) overrides the config's. Events and energies are per
    inference (mean over the samples); ``per_image`` holds each sample's energy, latency, SOPs
    and firing rate; the summary holds latency, throughput, energy, EDP, area and counts, beside
    the closed-form bound and estimates they are checked against.
    """
    config, sources = resolve(config, mode=mode)
    activity.check_graph(graph)
    samples = activity.samples if samples is None else samples
    if not 1 <= samples <= activity.samples:
        raise ActivityError(f"samples must lie in 1..{activity.samples}, got {samples}")
    steps = activity.timesteps
    mapping = map_graph(graph, config)
    costs = {name: LayerCosts.of(m, config) for name, m in mapping.layers.items()}
    reductions = {name: reduction(m, config) for name, m in mapping.layers.items()}
    work = layer_works(graph, activity, mapping, samples)
    needs = dataflow.requirements(graph)
    dataflow.layer_order(mapping.layers, needs)  # a cycle is refused before SimPy deadlocks on it
    sent = [packets(s, mapping) for s in dataflow.streams(graph, config.psum_bits)]
    started = time.perf_counter()
    result = sim.run(mapping, work, needs, sent)
    sim_wall_s = time.perf_counter() - started

    hardware = f"cim:{config.name}"
    rows: list[dict[str, Any]] = []
    for name, m in mapping.layers.items():
        w = work[name]
        cycles = {
            "crossbar_reads": w.compute_cycles.sum(-1).mean(0),
            "neuron_ops": w.neuron_cycles.sum(-1).mean(0),
        }
        counts = _counts(costs[name], config, w, reductions[name])
        rows += energy.energy_rows(hardware, name, m.op, counts, config, cycles)
    image_pj = sum(
        _sample_pj(costs[name], config, work[name], reductions[name]) for name in mapping.layers
    )
    for node in graph:
        if node.name not in mapping.layers:
            ops = digital_ops(graph, node, activity, samples, config.mode)
            image_pj = image_pj + ops.sum(1) * config.adder_pj
            rows += energy.energy_rows(
                hardware, node.name, node.op, {"digital_ops": ops.mean(0)}, config
            )
    network_pj = 0.0
    for p in sent:
        port = {"flit_hops": np.full(steps, float(p.flits.sum()))}
        network = energy.energy_rows(
            hardware, p.source, graph[p.source].op, _network_counts(p, steps), config, port
        )
        network_pj += sum(r["energy_pj"] for r in network)
        rows += network
    reload = chips.reload_cost(mapping)
    rows += _reload_rows(hardware, reload, config, steps)
    dynamic_pj = sum(r["energy_pj"] for r in rows)
    per_inference_cycles = result.makespan_cycles / samples + reload.cycles
    static = gating.static_energy(mapping, work, per_inference_cycles, samples)
    leak_pj = static.leakage_pj + static.wakeup_pj
    for component, event, n, pj in (
        ("leakage", "static", static.powered_tile_cycles, static.leakage_pj),
        ("power_gating", "wakeup", static.wakeups, static.wakeup_pj),
    ):
        if pj:
            rows.append(
                {
                    "hardware": hardware,
                    "layer": "chip",
                    "op": "chip",
                    "step": -1,
                    "component": component,
                    "event": event,
                    "events": n,
                    "cycles": per_inference_cycles,
                    "energy_pj": pj,
                    "area_um2": 0.0,
                }
            )
    rows += energy.area_rows(hardware, graph, mapping)

    per_image = activity_per_image(graph, activity).iloc[:samples]
    per_image.insert(1, "energy_pj", image_pj + network_pj + leak_pj + reload.energy_pj)
    per_image.insert(
        2, "latency_s", (result.latency_cycles + reload.cycles) / (config.clock_mhz * 1e6)
    )
    summary = _summary(
        graph, activity, mapping, costs, reductions, work, needs, sent, result, samples
    )
    summary.update(_chips_summary(rows, mapping, sent, reload, summary, steps))
    summary.update(
        dynamic_energy_pj=dynamic_pj,
        leakage_energy_pj=leak_pj,
        power_gating=config.power_gating,
        powered_tile_fraction=static.powered_tile_cycles / static.tile_cycles
        if static.tile_cycles
        else 0.0,
        energy_sop_correlation=energy_sop_correlation(per_image),
        energy_pj=dynamic_pj + leak_pj,
        energy_uj=(dynamic_pj + leak_pj) * 1e-6,
        edp_js=(dynamic_pj + leak_pj) * 1e-12 * summary["latency_s"],
        area_mm2=sum(r["area_um2"] for r in rows) * 1e-6,
        sim_wall_s=sim_wall_s,
        simpy_events_per_s=result.simpy_events / sim_wall_s if sim_wall_s else 0.0,
    )
    return Report.from_rows(
        rows,
        config={
            "model": "cim",
            "chip": dataclasses.asdict(config),
            "sources": sources,
            "mapping": mapping_table(mapping).to_dict("records"),
        },
        summary=summary,
        per_image=per_image,
        notes=[
            "events and energies are per inference (mean over the simulated samples)",
            "per image: its own crossbar, neuron, digital and partial-sum work; input delivery, "
            "weight reloads and leakage (one inference's share of the stream's makespan) are "
            "the same for every image",
            f"real-valued inputs fed bit-serially: {config.real_input_bits} read passes; static "
            f"input: {static_input_policy(graph)} (layers computed once read crossbars at step 0)",
            "area rows (event 'area'): events = instances (units, or bits of storage)",
            "cycles: busy cycles of the crossbar arrays (crossbar rows), neuron units (neuron "
            "rows) and injection ports (noc rows) of that layer and step",
            f"chips: {mapping.physical_chips} built, {mapping.chips} needed; overflow "
            f"{config.overflow}: {mapping.rounds} weight load(s) per image; NoC delivery "
            f"{config.noc_delivery}; compatibility {config.compatibility}",
            f"mode {config.mode}: "
            + (
                "every crossbar read at every position (SpikeSim's assumption)"
                if config.mode == "dense"
                else "a crossbar is read only where one of its rows receives a spike"
            ),
        ],
    )


def energy_sop_correlation(per_image: pd.DataFrame) -> float:
    """Pearson correlation of per-image energy with per-image SOPs over the images (NaN with
    fewer than two images or when either does not vary)."""
    energy_pj, sops = (per_image[k].to_numpy(float) for k in ("energy_pj", "sops"))
    if len(sops) < 2 or np.ptp(energy_pj) == 0 or np.ptp(sops) == 0:
        return float("nan")
    return float(np.corrcoef(energy_pj, sops)[0, 1])


def _closed_form(
    graph: Graph,
    activity: Activity,
    mapping: ChipMapping,
    costs: dict[str, LayerCosts],
    reductions: dict[str, Reduction],
    needs: list,
    sent: list[Packets],
    samples: int,
) -> dict[str, float]:
    """Dense work from the mapping and, in event mode, expected work from the measured rates
    (in dense mode the rate estimate is the dense one): energy and the latency bound of each
    (no spike maps, no SimPy)."""
    config, steps = mapping.config, activity.timesteps
    once = computed_once(graph)

    def held(name: str, work: LayerWork) -> LayerWork:
        return first_step_only(work) if name in once else work

    dense = {
        n: held(n, closed_form.dense_work(m, config, costs[n], steps))
        for n, m in mapping.layers.items()
    }
    rates = (
        {
            n: held(
                n, closed_form.rate_work(m, config, costs[n], _rates(graph, activity, n, steps))
            )
            for n, m in mapping.layers.items()
        }
        if config.mode == "event"
        else dense
    )
    digital = {
        mode: sum(
            float(digital_ops(graph, node, activity, samples, mode).sum(1).mean()) * config.adder_pj
            for node in graph
            if node.name not in mapping.layers
        )
        for mode in {"dense", config.mode}
    }
    reload_pj = chips.reload_cost(mapping).energy_pj
    return {
        "dense_energy_pj": _dynamic_pj(dense, costs, reductions, config, sent, steps)
        + digital["dense"]
        + reload_pj,
        "dense_closed_form_latency_cycles": closed_form.latency_bound(mapping, dense, needs, sent),
        "rate_estimate_energy_pj": _dynamic_pj(rates, costs, reductions, config, sent, steps)
        + digital[config.mode]
        + reload_pj,
        "rate_estimate_latency_cycles": closed_form.latency_bound(mapping, rates, needs, sent),
    }


def _mapping_summary(mapping: ChipMapping) -> dict[str, Any]:
    config = mapping.config
    cells_per_column = config.crossbar_rows * (
        config.crossbars_per_pe if config.pe_accumulation == "analog" else 1
    )
    return {
        "crossbars": mapping.crossbars,
        "pes": mapping.pes,
        "tiles": mapping.tiles,
        "chips": mapping.physical_chips,
        "chips_needed": mapping.chips,
        "reload_rounds": mapping.rounds,
        "chip_area_mm2": chips.chip_area_mm2(config),
        "reticle_mm2": config.reticle_mm2,
        **mapping.utilization(),
        "adc_bits": config.adc_bits,
        "adc_bits_full_precision": int(
            np.ceil(np.log2(cells_per_column * (2**config.bits_per_cell - 1) + 1))
        ),
    }


def estimate(
    graph: Graph,
    activity: Activity,
    config: CimConfig | str | Path = "spikesim-rram-65nm",
    *,
    mode: str | None = None,
) -> dict[str, Any]:
    """The closed form alone, for fast sweeps: mapping counts, area, dense energy and latency,
    and estimates from the measured firing rates (no spike maps are read, nothing simulated)."""
    config, _ = resolve(config, mode=mode)
    activity.check_graph(graph)
    mapping = map_graph(graph, config)
    costs = {name: LayerCosts.of(m, config) for name, m in mapping.layers.items()}
    reductions = {name: reduction(m, config) for name, m in mapping.layers.items()}
    needs = dataflow.requirements(graph)
    sent = [packets(s, mapping) for s in dataflow.streams(graph, config.psum_bits)]
    area = sum(r["area_um2"] for r in energy.area_rows(f"cim:{config.name}", graph, mapping))
    return {
        **_closed_form(graph, activity, mapping, costs, reductions, needs, sent, activity.samples),
        **_mapping_summary(mapping),
        "area_mm2": area * 1e-6,
    }


def _summary(
    graph: Graph,
    activity: Activity,
    mapping: ChipMapping,
    costs: dict[str, LayerCosts],
    reductions: dict[str, Reduction],
    work: dict[str, LayerWork],
    needs: list,
    sent: list[Packets],
    result: sim.SimResult,
    samples: int,
) -> dict[str, Any]:
    """Latency, throughput and counts, beside the closed-form bound and estimates."""
    config = mapping.config
    clock_hz = config.clock_mhz * 1e6
    bound = np.mean(
        [closed_form.latency_bound(mapping, work, needs, sent, s) for s in range(samples)]
    )
    bottleneck = np.mean(
        [closed_form.busiest_unit_cycles(mapping, work, sent, s) for s in range(samples)]
    )
    admission = np.mean(
        [closed_form.admission_cycles(mapping, work, needs, s) for s in range(samples)]
    )
    latency = float(result.latency_cycles.mean())
    pe_cycles = sum(float(w.pe.sum() * costs[n].column_blocks) for n, w in work.items()) / samples
    return {
        "mode": config.mode,
        "samples": samples,
        "timesteps": activity.timesteps,
        "latency_cycles": latency,
        "latency_s": latency / clock_hz,
        "closed_form_latency_cycles": float(bound),
        "makespan_cycles": result.makespan_cycles,
        "throughput_inferences_per_s": clock_hz / bottleneck,
        # images enter faster than the busiest unit serves them: in the stream each waits for the
        # earlier ones, so the mean latency grows with the number of images simulated
        "streamed_images_queue": bool(samples > 1 and bottleneck > admission),
        "simulated_throughput_inferences_per_s": samples * clock_hz / result.makespan_cycles,
        "pe_cycles": pe_cycles,
        **_closed_form(graph, activity, mapping, costs, reductions, needs, sent, samples),
        **_mapping_summary(mapping),
        "simpy_events": result.simpy_events,
    }


def _rates(graph: Graph, activity: Activity, layer: str, steps: int) -> np.ndarray:
    edge = graph[layer].inputs[0]
    return activity.rates(edge) if edge in activity.edges else np.ones(steps)


def _dynamic_pj(
    work: dict[str, LayerWork],
    costs: dict[str, LayerCosts],
    reductions: dict[str, Reduction],
    config: CimConfig,
    sent: list[Packets],
    steps: int,
) -> float:
    """Dynamic energy of the weighted layers and the network."""
    total = 0.0
    for name, w in work.items():
        for action, per_step in _counts(costs[name], config, w, reductions[name]).items():
            total += float(np.sum(per_step)) * getattr(config, energy.ACTIONS[action][2])
    for p in sent:
        for action, per_step in _network_counts(p, steps).items():
            total += float(np.sum(per_step)) * getattr(config, energy.ACTIONS[action][2])
    return total


def _reload_rows(hardware: str, reload: chips.Reload, config: CimConfig, steps: int) -> list:
    """Energy rows of rewriting the weights (per image, charged at step 0)."""
    counts = {
        "reload_dram_bits": np.array([reload.dram_bits] + [0.0] * (steps - 1)),
        "reload_cell_writes": np.array([reload.cells_written] + [0.0] * (steps - 1)),
    }
    busy = {"reload_cell_writes": np.array([reload.cycles] + [0.0] * (steps - 1))}
    return energy.energy_rows(hardware, "chip", "chip", counts, config, busy)


def _chips_summary(
    rows: list[dict[str, Any]],
    mapping: ChipMapping,
    sent: list[Packets],
    reload: chips.Reload,
    summary: dict[str, Any],
    steps: int,
) -> dict[str, Any]:
    """What the chips cost: link traffic and energy, the busiest link's cycles (a lower bound
    on the latency), NoC energy, reload traffic and energy, and the cells' lifetime. Under
    reload the latency includes the time to rewrite the weights."""
    config = mapping.config
    links: dict[int, float] = {}
    for p in sent:
        for tile, busy in zip(p.source_tiles, p.link_cycles, strict=True):
            chip = int(tile) // config.tiles_per_chip
            links[chip] = links.get(chip, 0.0) + float(busy) * steps
    latency = summary["latency_cycles"] + reload.cycles
    clock_hz = config.clock_mhz * 1e6

    def total(column: str, component: str) -> float:
        return sum(r[column] for r in rows if r["component"] == component and r["step"] >= 0)

    out = {
        "link_bits": total("events", "chip_link"),
        "link_energy_pj": total("energy_pj", "chip_link"),
        "link_bound_cycles": max(links.values(), default=0.0),
        "noc_energy_pj": total("energy_pj", "noc"),
        "reload_cells_written": reload.cells_written,
        "reload_dram_bits": reload.dram_bits,
        "reload_cycles": reload.cycles,
        "reload_energy_pj": reload.energy_pj,
        "lifetime_years": reload.lifetime_s(config, latency / clock_hz) / (365.25 * 86400),
    }
    if reload.rounds > 1:  # rounds rewrite the cells image after image: no streaming overlap
        out.update(
            latency_cycles=latency,
            latency_s=latency / clock_hz,
            throughput_inferences_per_s=clock_hz / latency,
        )
    return out
