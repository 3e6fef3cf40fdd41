"""The laws the CIM model must obey, on hand-built residual graphs and on the zoo models."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.activity import Activity, ActivityError, ActivityWriter
from simulators.cim import load_config, preset_names, simulate
from simulators.ir import Graph

LIF = {"tau": 0.25, "v_th": 0.5}


def residual_graph(c=6, size=8, pad=1, seed=0) -> Graph:
    """Stem, a residual block with a scaled identity shortcut, a strided block with a 1×1 conv
    shortcut, global average pooling and a two-layer classifier."""
    rng = np.random.default_rng(seed)
    k = 2 * pad + 1
    g = Graph({"timesteps": 3})
    g.add("input", "input", shape=(2, size, size))
    g.add("stem", "conv", ["input"], attrs={"padding": 1}, weight=rng.normal(size=(c, 2, 3, 3)))
    g.add("lif0", "lif", ["stem"], attrs=LIF)

    def conv(name, src, cin, cout, kernel, stride, padding):
        attrs = {"stride": stride, "padding": padding, "binary_input": True}
        g.add(name, "conv", [src], attrs=attrs, weight=rng.normal(size=(cout, cin, kernel, kernel)))

    conv("conv1", "lif0", c, c, k, 1, pad)
    g.add("lif1", "lif", ["conv1"], attrs=LIF)
    conv("conv2", "lif1", c, c, k, 1, pad)
    g.add("scale", "scale", ["lif0"], scale=rng.uniform(0.5, 1.5, (c, 1, 1)))
    g.add("add1", "add", ["conv2", "scale"])
    g.add("lif2", "lif", ["add1"], attrs=LIF)
    conv("conv3", "lif2", c, 2 * c, k, 2, pad)
    g.add("lif3", "lif", ["conv3"], attrs=LIF)
    conv("conv4", "lif3", 2 * c, 2 * c, k, 1, pad)
    conv("short", "lif2", c, 2 * c, 1, 2, 0)
    g.add("add2", "add", ["conv4", "short"])
    g.add("lif4", "lif", ["add2"], attrs=LIF)
    side = g["lif4"].shape[1]
    g.add("pool", "avgpool", ["lif4"], attrs={"kernel": side})
    g.add("flat", "flatten", ["pool"])
    g.add("fc1", "linear", ["flat"], weight=rng.normal(size=(7, 2 * c)))
    g.add("lif5", "lif", ["fc1"], attrs=LIF)
    g.add("fc2", "linear", ["lif5"], attrs={"binary_input": True}, weight=rng.normal(size=(3, 7)))
    g.add("output", "output", ["fc2"])
    return g.validate()


def spikes(graph: Graph, path, density: float, samples: int = 1, seed: int = 0) -> Activity:
    rng = np.random.default_rng(seed)
    steps = int(graph.meta["timesteps"])
    edges = {e: graph[e].shape for e in graph.spike_edges()}
    meta = {"graph_fingerprint": graph.fingerprint()}
    with ActivityWriter(path, edges, steps, meta) as writer:
        for _ in range(samples):  # one chunk per sample: the model reads across chunks
            writer.append({e: rng.random((1, steps, *s)) < density for e, s in edges.items()})
    return Activity.load(path)


def check_dense_against_closed_form(graph, activity, preset, **overrides):
    """The work counted from the spike maps and simulated equals the closed form's dense work
    from the mapping alone. Both are priced by the same per-action table, so this checks the
    counts; the prices are pinned by hand in
    :func:`test_dense_energy_is_spikesims_charge_per_pe_cycle`."""
    config = load_config(preset, overrides)
    report = simulate(graph, activity, config, mode="dense")
    s = report.summary
    assert s["dynamic_energy_pj"] == pytest.approx(s["dense_energy_pj"], rel=1e-12)
    bound = s["dense_closed_form_latency_cycles"]
    assert bound == s["closed_form_latency_cycles"]
    assert bound <= s["latency_cycles"] <= 1.01 * bound
    return report


@pytest.mark.parametrize("preset", preset_names())
def test_dense_equals_the_closed_form(tmp_path, preset):
    graph = residual_graph()
    activity = spikes(graph, tmp_path / "a", 0.3)
    check_dense_against_closed_form(graph, activity, preset)
    check_dense_against_closed_form(graph, activity, preset, duplication=2, placement="packed")


def test_dense_energy_is_spikesims_charge_per_pe_cycle(tmp_path):
    """A 3x3 conv of 64 -> 64 channels fills one SpikeSim PE (9 crossbars of 64x64, one 4-bit
    cell per 4-bit weight). SpikeSim's ela compute_energy charges per PE-cycle (one window, one
    step): k·k·xbar_size/8 = 72 crossbar reads, 64 ADC conversions and mux selects (8 ADCs
    behind 8:1 muxes), (xbar_size/8)·16 = 128 subtractor bit-ops, 8 temp-buffer writes, and one
    input fetch, tile-buffer access, H-tree transfer and neuron update. Dense mode runs one
    PE-cycle per output position and step."""
    steps, side = 2, 4
    graph = Graph({"timesteps": steps})
    graph.add("input", "input", shape=(64, side, side), attrs={"encoding": "events"})
    graph.add("lif0", "lif", ["input"], attrs=LIF)
    attrs = {"padding": 1, "binary_input": True}
    graph.add("conv", "conv", ["lif0"], attrs=attrs, weight=np.ones((64, 64, 3, 3)))
    graph.add("lif1", "lif", ["conv"], attrs=LIF)
    graph.add("output", "output", ["lif1"])
    graph.validate()
    c = load_config("spikesim-rram-65nm")
    per_pe_cycle_pj = (
        72 * c.crossbar_read_pj
        + 64 * (c.adc_pj + c.mux_pj)
        + 128 * c.subtractor_pj_per_bit
        + 8 * c.temp_buffer_pj
        + c.input_fetch_pj
        + c.tile_buffer_pj
        + c.htree_pj
        + c.neuron_pj
    )
    report = simulate(graph, spikes(graph, tmp_path / "a", 1.0), c, mode="dense")
    conv_pj = report.frame.query("layer == 'conv'").energy_pj.sum()
    assert conv_pj == pytest.approx(steps * side * side * per_pe_cycle_pj, rel=1e-12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    density=st.floats(0, 1),
    pad=st.integers(0, 1),
    preset=st.sampled_from(preset_names()),
    samples=st.integers(1, 3),
    seed=st.integers(0, 50),
)
def test_event_mode_never_costs_more_and_never_beats_the_bound(
    tmp_path_factory, density, pad, preset, samples, seed
):
    graph = residual_graph(pad=pad, seed=seed)
    activity = spikes(graph, tmp_path_factory.mktemp("a") / "a", density, samples, seed)
    event = simulate(graph, activity, preset, samples=samples)
    dense = simulate(graph, activity, preset, mode="dense", samples=samples)
    e, d = event.summary, dense.summary
    assert e["dynamic_energy_pj"] <= d["dynamic_energy_pj"] * (1 + 1e-12)
    assert e["energy_pj"] <= d["energy_pj"] * (1 + 1e-12)
    assert e["latency_cycles"] >= e["closed_form_latency_cycles"]
    assert d["latency_cycles"] >= d["closed_form_latency_cycles"]
    assert e["samples"] == samples and e["makespan_cycles"] >= e["latency_cycles"]


def test_event_mode_equals_dense_when_every_input_spikes(tmp_path):
    """Without zero padding every window of a fully spiking input reads every crossbar.

    (With padding, event mode skips the border crossbars that see only padding, which dense mode
    reads: that difference is checked against explicit loops in test_cim_work.)"""
    graph = residual_graph(pad=0)
    activity = spikes(graph, tmp_path / "a", 1.0)
    for preset in preset_names():
        event = simulate(graph, activity, preset).summary
        dense = simulate(graph, activity, preset, mode="dense").summary
        assert event["energy_pj"] == pytest.approx(dense["energy_pj"], rel=1e-12)
        assert event["latency_cycles"] == dense["latency_cycles"]


def test_report_rows_and_summary(tmp_path):
    graph = residual_graph()
    activity = spikes(graph, tmp_path / "a", 0.2, samples=2)
    report = simulate(graph, activity, "neurosim-rram-22nm", samples=2)
    frame, s = report.frame, report.summary
    assert set(frame.hardware) == {"cim:neurosim-rram-22nm"}
    assert {"crossbar", "adc", "neuron", "noc", "leakage", "digital"} <= set(frame.component)
    per_step = frame[frame.step >= 0]
    assert sorted(per_step.step.unique()) == [0, 1, 2]
    assert s["leakage_energy_pj"] > 0 and s["throughput_inferences_per_s"] > 0
    assert s["crossbars"] == sum(row["crossbars"] for row in report.config["mapping"])
    digital = frame[frame.component == "digital"]
    assert set(digital.layer) == {"scale", "add1", "add2", "pool"}
    report.save(tmp_path / "r", "cim")
    with pytest.raises(ActivityError, match=r"samples must lie in 1\.\.2, got 3"):
        simulate(graph, activity, "neurosim-rram-22nm", samples=3)


def zoo_graph(name: str, realspike: str = "channel") -> Graph:
    torch = pytest.importorskip("torch")
    from rshw.models import create_model
    from rshw.pipeline.reparam import reparameterize
    from rshw.training.calibrate import randomize_for_checks

    torch.manual_seed(0)
    model = create_model(name, realspike=realspike)
    return reparameterize(randomize_for_checks(model), np.float32)


@pytest.mark.parametrize("name", ["scnn", "resnet20"])
def test_zoo_models_dense_equals_closed_form(tmp_path, name):
    graph = zoo_graph(name)
    activity = spikes(graph, tmp_path / "a", 0.3)
    for preset in ("spikesim-rram-65nm", "neurosim-sram-22nm"):
        check_dense_against_closed_form(graph, activity, preset, chips=4)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "realspike"),
    [("resnet19", "channel"), ("vgg16", "channel"), ("resnet19", "element"), ("vgg16", "element")],
)
def test_large_zoo_models_dense_equals_closed_form(tmp_path, name, realspike):
    graph = zoo_graph(name, realspike)
    activity = spikes(graph, tmp_path / "a", 0.3)
    for preset in preset_names():
        check_dense_against_closed_form(graph, activity, preset, chips=400)
