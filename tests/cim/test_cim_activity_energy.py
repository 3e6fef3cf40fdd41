"""Energy from activity and power gating (issue 22 items 1, 3 and their laws in item 7)."""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.activity import Activity, ActivityWriter
from simulators.cim import load_config, map_graph, preset_names, simulate
from simulators.cim.model import energy_sop_correlation
from simulators.cim.work import LayerCosts, layer_work
from tests.cim.test_cim_laws import residual_graph
from tests.cim.test_cim_work import one_layer

SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def write(graph, path, maps: dict[str, np.ndarray]) -> Activity:
    """One sample's bool maps ``{edge: [T, *shape]}``."""
    steps = int(graph.meta["timesteps"])
    meta = {"graph_fingerprint": graph.fingerprint()}
    with ActivityWriter(path, {e: graph[e].shape for e in maps}, steps, meta) as writer:
        writer.append({e: m[None] for e, m in maps.items()})
    return Activity.load(path)


def random_maps(graph, density: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    steps = int(graph.meta["timesteps"])
    return {e: rng.random((steps, *graph[e].shape)) < density for e in graph.spike_edges()}


@given(
    k=st.sampled_from([1, 3]),
    pad=st.integers(0, 1),
    stride=st.integers(1, 2),
    density=st.floats(0, 1),
    seed=st.integers(0, 99),
)
@settings(max_examples=40, deadline=None)
def test_active_rows_are_the_spikes_in_each_window(k, pad, stride, density, seed):
    """Active rows per output row = Σ over positions, channels and kernel offsets of the input
    spikes inside the window, by explicit loops (padding never drives a row)."""
    config = load_config("neurosim-rram-22nm", {"zero_input_reads": "skip"})
    m = map_graph(one_layer(5, 6, k, stride, pad, 4), config).layers["layer"]
    spikes = np.random.default_rng(seed).random((2, 5, 6, 6)) < density
    work = layer_work(m, config, LayerCosts.of(m, config), spikes, 2)
    ho, wo = m.out_shape[1:]
    by_loops = np.zeros((2, ho), int)
    for t in range(2):
        for y in range(ho):
            for x in range(wo):
                for i in range(k):
                    for j in range(k):
                        yy, xx = y * stride + i - pad, x * stride + j - pad
                        if 0 <= yy < 6 and 0 <= xx < 6:
                            by_loops[t, y] += spikes[t, :, yy, xx].sum()
    np.testing.assert_array_equal(work.rows, by_loops)


@pytest.mark.parametrize("preset", preset_names())
@pytest.mark.parametrize("reads", ["skip", "read"])
@given(density=st.floats(0.02, 0.6), extra=st.floats(0.05, 0.5), seed=st.integers(0, 99))
@SLOW
def test_energy_never_decreases_as_rows_become_active(preset, reads, density, extra, seed):
    """Law: turning more input rows on (a superset of the spikes) never lowers the dynamic
    energy; with a per-row price and every crossbar read ('read'), it strictly raises it."""
    graph = residual_graph(c=4, size=6)
    low = random_maps(graph, density, seed)
    more = random_maps(graph, extra, seed + 1)
    high = {e: low[e] | more[e] for e in low}
    config = load_config(preset, {"zero_input_reads": reads})
    with tempfile.TemporaryDirectory() as tmp:
        a = simulate(graph, write(graph, Path(tmp) / "a", low), config).summary
        b = simulate(graph, write(graph, Path(tmp) / "b", high), config).summary
    assert b["dynamic_energy_pj"] >= a["dynamic_energy_pj"] * (1 - 1e-12)
    added = sum(int(high[e].sum() - low[e].sum()) for e in low)
    if reads == "read" and config.crossbar_row_read_pj > 0 and added:
        assert b["dynamic_energy_pj"] > a["dynamic_energy_pj"]


def test_silent_image_costs_the_stem_and_static_energy(tmp_path):
    """Law: an image with no spikes after the stem costs what the stem costs plus static
    energy; with skipping, the spiking layers add only their leak-only neuron updates (one per
    output position, column block and step: counted by hand) and the fixed spike-bitmap
    packets, which do not depend on the spikes."""
    graph = one_layer(40, 6, 3, 1, 1, 50)
    silent = {e: np.zeros_like(m) for e, m in random_maps(graph, 0.0, 0).items()}
    busy = random_maps(graph, 0.4, 0)
    config = load_config("neurosim-rram-22nm", {"zero_input_reads": "skip"})
    quiet = simulate(graph, write(graph, tmp_path / "q", silent), config)
    loud = simulate(graph, write(graph, tmp_path / "l", busy), config)
    f, g = quiet.frame, loud.frame
    mapping = map_graph(graph, config)
    steps = int(graph.meta["timesteps"])
    network = ["noc", "chip_link"]  # rows named for the sending layer

    def stem_pj(frame):
        own = (frame.layer == "stem") & (frame.event != "area") & ~frame.component.isin(network)
        return frame[own].energy_pj.sum()

    stem = stem_pj(f)
    assert stem == pytest.approx(stem_pj(g))
    spiking = [n for n, m in mapping.layers.items() if m.binary_input]
    assert spiking == ["layer"]
    rows = f[f.layer.isin(spiking) & (f.event != "area")]
    assert set(rows.component) == {"neuron"}
    # 6 × 6 positions, 50 outputs × 4 slices = 200 columns = 2 column blocks, per step
    leak_updates = 6 * 6 * 2 * steps
    assert rows.events.sum() == leak_updates
    noc = f[f.component.isin(network)].energy_pj.sum()
    assert noc == pytest.approx(g[g.component.isin(network)].energy_pj.sum())
    digital = f[f.component == "digital"].energy_pj.sum()
    static = quiet.summary["leakage_energy_pj"]
    expected = stem + leak_updates * config.neuron_pj + noc + digital + static
    assert quiet.summary["energy_pj"] == pytest.approx(expected, rel=1e-12)
    assert static > 0 and quiet.summary["energy_pj"] < loud.summary["energy_pj"]


@pytest.mark.parametrize("preset", ["neurosim-rram-22nm", "neurosim-sram-22nm"])
@given(density=st.floats(0.0, 0.8), seed=st.integers(0, 99), samples=st.integers(1, 2))
@SLOW
def test_gating_without_wakeup_cost_never_adds_energy(preset, density, seed, samples):
    """Law: gating idle tiles with a free, instant wake-up never costs more than not gating,
    and leaves dynamic energy and latency unchanged."""
    graph = residual_graph(c=4, size=6)
    free = {"power_gating": "idle-tiles", "wakeup_pj_per_tile": 0.0, "wakeup_cycles": 0}
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(seed)
        steps = int(graph.meta["timesteps"])
        edges = {e: graph[e].shape for e in graph.spike_edges()}
        meta = {"graph_fingerprint": graph.fingerprint()}
        with ActivityWriter(Path(tmp) / "a", edges, steps, meta) as writer:
            for _ in range(samples):
                writer.append({e: rng.random((1, steps, *s)) < density for e, s in edges.items()})
        activity = Activity.load(Path(tmp) / "a")
        off = simulate(graph, activity, load_config(preset)).summary
        on = simulate(graph, activity, load_config(preset, free)).summary
    assert on["energy_pj"] <= off["energy_pj"] * (1 + 1e-12)
    assert on["dynamic_energy_pj"] == pytest.approx(off["dynamic_energy_pj"], rel=1e-12)
    assert on["latency_cycles"] == off["latency_cycles"]
    assert off["powered_tile_fraction"] == 1.0 and on["powered_tile_fraction"] <= 1.0


def test_gated_leakage_by_hand(tmp_path):
    """One spiking layer on neurosim-rram-22nm, dense, gated: tiles leak only while they work.

    layer: 8·3·3 = 72 rows, 8 outputs × 4 slices = 32 columns over 16 ADCs = 2 phases, so a
    PE-cycle is 2 × (10 + 1) + 3 = 25 cycles; per step 6 rows × 6 positions × 25 = 900 cycles,
    one 3-cycle wake-up, and 6 rows × 1 neuron cycle (6 vectors over 32 units): 909 per step.
    stem (its own tile, computed once): 6 × 6 positions × 8 bit-planes × 25 = 7200 cycles and
    one wake-up at step 0, 6 neuron cycles at each step. Leakage = those cycles × the tile's
    leakage × 1 ns;
    wake-ups: 2 steps of the layer + 1 of the stem, × wakeup_pj_per_tile.
    """
    graph = one_layer(8, 6, 3, 1, 1, 8)
    config = load_config(
        "neurosim-rram-22nm", {"power_gating": "idle-tiles", "mode": "dense", "duplication": 1}
    )
    report = simulate(graph, write(graph, tmp_path / "a", random_maps(graph, 0.3, 0)), config)
    powered = 2 * (900 + 3 + 6) + (7200 + 3 + 2 * 6)
    leak = report.frame[report.frame.component == "leakage"].energy_pj.sum()
    assert leak == pytest.approx(powered * config.leakage_mw_per_tile * 1.0)  # × 1 ns
    wake = report.frame[report.frame.component == "power_gating"].energy_pj.sum()
    assert wake == pytest.approx(3 * config.wakeup_pj_per_tile)
    assert report.summary["powered_tile_fraction"] < 1


def test_energy_sop_correlation_by_hand():
    frame = pd.DataFrame({"energy_pj": [1.0, 2.0, 4.0], "sops": [10.0, 20.0, 40.0]})
    assert energy_sop_correlation(frame) == pytest.approx(1.0)
    frame["sops"] = [40.0, 20.0, 10.0]  # the larger the energy, the fewer the SOPs
    assert energy_sop_correlation(frame) < -0.9
    assert np.isnan(energy_sop_correlation(frame.iloc[:1]))
    assert np.isnan(energy_sop_correlation(frame.assign(energy_pj=3.0)))


def test_per_image_energy_follows_the_spikes(tmp_path):
    """Three images at 5 %, 30 % and 70 % spikes on neurosim-rram-22nm: more spikes, more
    energy per image (active rows priced), so energy and SOPs correlate strongly."""
    graph = residual_graph(c=4, size=6)
    steps = int(graph.meta["timesteps"])
    edges = {e: graph[e].shape for e in graph.spike_edges()}
    rng = np.random.default_rng(0)
    meta = {"graph_fingerprint": graph.fingerprint()}
    with ActivityWriter(tmp_path / "a", edges, steps, meta) as writer:
        for density in (0.05, 0.3, 0.7):
            writer.append({e: rng.random((1, steps, *s)) < density for e, s in edges.items()})
    report = simulate(graph, Activity.load(tmp_path / "a"), "neurosim-rram-22nm")
    energy = report.per_image.energy_pj.to_numpy()
    assert energy[0] < energy[1] < energy[2]
    assert report.summary["energy_sop_correlation"] > 0.9
