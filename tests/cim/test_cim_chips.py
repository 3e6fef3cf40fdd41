"""Chips, links, reload and multicast (issue 22): the laws, and hand-priced examples."""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.cim import load_config, map_graph, preset_names, simulate
from simulators.cim.chips import chip_area_mm2
from simulators.cim.mapping import MappingError
from simulators.cim.network import hops, reduction, tree_links
from simulators.ir import Graph
from tests.cim.test_cim_laws import residual_graph, spikes

LIF = {"tau": 0.25, "v_th": 0.5}


def two_layers() -> Graph:
    """1×1 convs 10 → 5 → 3 on a 2×2 map: 50 and 15 weights, one PE each."""
    rng = np.random.default_rng(0)
    g = Graph({"timesteps": 2})
    g.add("input", "input", shape=(4, 2, 2))
    g.add("a", "conv", ["input"], weight=rng.normal(size=(10, 4, 1, 1)))
    g.add("la", "lif", ["a"], attrs=LIF)
    g.add("b", "conv", ["la"], attrs={"binary_input": True}, weight=rng.normal(size=(5, 10, 1, 1)))
    g.add("lb", "lif", ["b"], attrs=LIF)
    g.add("c", "conv", ["lb"], attrs={"binary_input": True}, weight=rng.normal(size=(3, 5, 1, 1)))
    g.add("output", "output", ["c"])
    return g.validate()


@pytest.mark.parametrize("preset", preset_names())
def test_a_network_on_one_die_sends_nothing_over_links(tmp_path, preset):
    graph = residual_graph()
    activity = spikes(graph, tmp_path / "a", 0.4)
    s = simulate(graph, activity, preset).summary
    assert s["chips"] == 1
    assert s["link_bits"] == s["link_energy_pj"] == s["link_bound_cycles"] == 0
    assert s["reload_rounds"] == 1 and s["reload_energy_pj"] == 0
    assert s["lifetime_years"] == float("inf")
    assert load_config(preset).noc_flit_energy_pj > 0  # every preset prices its NoC


def test_reload_energy_is_cells_rewritten_times_write_energy(tmp_path):
    """Hand-priced: spikesim 64×64 cells of 4 bits hold one 4-bit weight each; layers a (4×10,
    real input), b (10×5), c (5×3) take one tile each (tile-aligned, 1 tile per chip); with one
    chip every image loads three rounds: 40 + 50 + 15 = 105 cells, 420 bits from DRAM."""
    graph = two_layers()
    activity = spikes(graph, tmp_path / "a", 0.5)
    prices = {"cell_write_pj": 2.0, "dram_pj_per_bit": 0.5, "cell_write_ns": 10.0}
    budget = {"chips": 1, "tiles_per_chip": 1, "placement": "tile-aligned", **prices}
    config = load_config("spikesim-rram-65nm", budget)
    report = simulate(graph, activity, config)
    s = report.summary
    assert (s["chips"], s["chips_needed"], s["reload_rounds"]) == (1, 3, 3)
    assert s["reload_cells_written"] == 105 and s["reload_dram_bits"] == 420
    assert s["reload_energy_pj"] == pytest.approx(105 * 2.0 + 420 * 0.5)
    frame = report.frame
    assert frame[frame.component == "reload"].energy_pj.sum() == pytest.approx(420.0)
    # three rounds of 64 rows × 10 ns write-verify (DRAM: 140 bits at 204.8 Gb/s < 1 ns) at 4 ns
    assert s["reload_cycles"] == pytest.approx(3 * 64 * 10 / 4)
    fits = simulate(graph, activity, load_config("spikesim-rram-65nm", prices))
    assert s["latency_cycles"] >= fits.summary["latency_cycles"] + 480
    years = 1e6 * s["latency_s"] / (365.25 * 86400)  # each cell written once per image
    assert s["lifetime_years"] == pytest.approx(years)
    twice = simulate(
        graph, activity, load_config("spikesim-rram-65nm", {**budget, "reload_images": 2})
    )
    assert twice.summary["reload_energy_pj"] == pytest.approx(s["reload_energy_pj"] / 2)


def test_refuse_fails_in_one_line_and_the_reticle_limits_a_chip():
    graph = two_layers()
    refuse = {"chips": 1, "tiles_per_chip": 1, "placement": "tile-aligned", "overflow": "refuse"}
    with pytest.raises(MappingError, match=r"needs 3 tiles .* set chips >= 3"):
        map_graph(graph, load_config("spikesim-rram-65nm", refuse))
    config = load_config("spikesim-rram-65nm")
    one_tile = chip_area_mm2(dataclasses.replace(config, tiles_per_chip=1))
    per_tile = (chip_area_mm2(config) - one_tile) / (config.tiles_per_chip - 1)
    fits = int((858 - one_tile) / per_tile) + 1  # the most tiles within 858 mm²
    assert chip_area_mm2(dataclasses.replace(config, tiles_per_chip=fits)) <= 858
    map_graph(graph, load_config("spikesim-rram-65nm", {"tiles_per_chip": fits}))
    with pytest.raises(MappingError, match=rf"larger than the reticle.*tiles_per_chip <= {fits}$"):
        map_graph(graph, load_config("spikesim-rram-65nm", {"tiles_per_chip": fits + 1}))


def test_multicast_trees_by_hand():
    mesh = load_config("neurosim-rram-22nm", {"tiles_per_chip": 16})  # a 4×4 mesh
    # from tile 0 to tiles 3 and 15: along row 0 to column 3 (3 links), down column 3 (3 links)
    assert tree_links(0, np.array([3, 15]), mesh) == 6
    assert hops(0, 3, mesh) + hops(0, 15, mesh) == 9  # unicast
    htree = load_config("spikesim-rram-65nm")
    # leaves 1, 2, 3 from leaf 0: up two levels, down to 1 (one link), to subtree {2, 3} (one)
    # and to 2 and 3 (two more): 2 + 3 + 1
    assert tree_links(0, np.array([1, 2, 3]), htree) == 6
    assert hops(0, 1, htree) + hops(0, 2, htree) + hops(0, 3, htree) == 10


def test_partial_sums_cross_tiles_by_hand():
    """spikesim, kernel-split: 128 input channels × 3×3 = 18 crossbars, 9 per PE: two PE groups;
    with one PE per tile the second group's 64 outputs × 16 bits = 16 flits go 2 H-tree hops
    (tiles 1 → 0) per PE-cycle: 32 flit-hops per position, 16 per active group."""
    rng = np.random.default_rng(0)
    g = Graph({"timesteps": 1})
    g.add("input", "input", shape=(2, 4, 4))
    g.add("stem", "conv", ["input"], attrs={"padding": 1}, weight=rng.normal(size=(128, 2, 3, 3)))
    g.add("l0", "lif", ["stem"], attrs=LIF)
    attrs = {"padding": 1, "binary_input": True}
    g.add("layer", "conv", ["l0"], attrs=attrs, weight=rng.normal(size=(64, 128, 3, 3)))
    g.add("output", "output", ["layer"])
    config = load_config("spikesim-rram-65nm", {"pes_per_tile": 1})
    m = map_graph(g.validate(), config).layers["layer"]
    assert m.pe_groups == 2
    assert reduction(m, config).flit_hops == 16
    same_tile = load_config("spikesim-rram-65nm")
    assert reduction(map_graph(g, same_tile).layers["layer"], same_tile).flit_hops == 0


def spread(preset: str, **overrides):
    """The residual graph over many one-tile chips."""
    return load_config(preset, {"tiles_per_chip": 1, "placement": "tile-aligned", **overrides})


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    density=st.floats(0.05, 1.0),
    gbps=st.sampled_from([0.05, 0.5, 5.0]),
    preset=st.sampled_from(["spikesim-rram-65nm", "neurosim-rram-22nm"]),
    delivery=st.sampled_from(["multicast", "unicast"]),
)
def test_links_bound_the_latency_and_contention_never_shortens_it(
    tmp_path_factory, density, gbps, preset, delivery
):
    graph = residual_graph()
    activity = spikes(graph, tmp_path_factory.mktemp("a") / "a", density, samples=2)
    slow = simulate(graph, activity, spread(preset, chip_link_gbps=gbps, noc_delivery=delivery))
    s = slow.summary
    config = spread(preset, chip_link_gbps=gbps)
    assert s["chips"] > 1 and s["link_bits"] > 0
    assert s["link_energy_pj"] == pytest.approx(s["link_bits"] * config.chip_link_pj_per_bit)
    assert s["latency_cycles"] >= s["link_bound_cycles"] > 0
    # the busiest chip sends at least its share of the packets' bits, at the link's bandwidth
    frame = slow.frame
    sent = frame[(frame.component == "chip_link") & (frame.event == "bit")].events.sum()
    assert s["link_bound_cycles"] >= sent / s["chips"] / config.link_bits_per_cycle
    assert s["latency_cycles"] >= s["closed_form_latency_cycles"]
    fast = simulate(graph, activity, spread(preset, chip_link_gbps=1e6, noc_delivery=delivery))
    assert s["latency_cycles"] >= fast.summary["latency_cycles"]
    assert s["makespan_cycles"] >= fast.summary["makespan_cycles"]


@pytest.mark.parametrize("preset", preset_names())
def test_multicast_never_costs_more_than_unicast(tmp_path, preset):
    graph = residual_graph()
    activity = spikes(graph, tmp_path / "a", 0.5)
    runs = {
        d: simulate(graph, activity, spread(preset, noc_delivery=d)).summary
        for d in ("multicast", "unicast")
    }
    assert runs["multicast"]["noc_energy_pj"] <= runs["unicast"]["noc_energy_pj"]
    assert runs["multicast"]["link_bits"] <= runs["unicast"]["link_bits"]
