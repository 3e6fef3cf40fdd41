import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.activity import Activity, ActivityError, ActivityWriter
from simulators.config import ConfigError
from simulators.gpu import load_config, simulate
from simulators.ir import Graph
from simulators.report import COLUMNS

STEPS = 4


def block_graph(local: bool, channels: int = 16, size: int = 16, seed: int = 0) -> Graph:
    """stem -> LIF -> conv|local -> LIF -> (+ scaled shortcut) -> LIF -> avgpool -> FC."""
    rng = np.random.default_rng(seed)
    c, h = channels, size
    g = Graph({"timesteps": STEPS})
    g.add("input", "input", shape=(3, h, h), attrs={"encoding": "static"})
    g.add(
        "stem",
        "conv",
        ["input"],
        attrs={"padding": 1},
        weight=rng.normal(size=(c, 3, 3, 3)),
        bias=np.zeros(c),
    )
    g.add("lif0", "lif", ["stem"], attrs={"tau": 0.25, "v_th": 0.5})
    arrays = {"weight": rng.normal(size=(c, c, 3, 3)), "bias": np.zeros(c)}
    if local:
        arrays["in_scale"] = rng.uniform(0.5, 1.5, (c, h, h))
    g.add(
        "conv",
        "local" if local else "conv",
        ["lif0"],
        attrs={"padding": 1, "binary_input": True},
        **arrays,
    )
    g.add("lif1", "lif", ["conv"], attrs={"tau": 0.25, "v_th": 0.5})
    g.add("scale", "scale", ["lif0"], scale=rng.uniform(0.5, 1.5, (c, 1, 1)))
    g.add("add", "add", ["lif1", "scale"])
    g.add("lif2", "lif", ["add"], attrs={"tau": 0.25, "v_th": 0.5})
    g.add("pool", "maxpool", ["lif2"], attrs={"kernel": 2})
    g.add("flat", "flatten", ["pool"])
    g.add(
        "fc",
        "linear",
        ["flat"],
        attrs={"binary_input": True},
        weight=rng.normal(size=(10, c * h * h // 4)),
    )
    g.add("output", "output", ["fc"], attrs={"reduce": "mean"})
    return g.validate()


def write_activity(graph: Graph, path, density: float, samples: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    edges = {e: graph[e].shape for e in graph.spike_edges()}
    maps = {e: rng.random((samples, STEPS, *s)) < density for e, s in edges.items()}
    with ActivityWriter(path, edges, STEPS, {"graph_fingerprint": graph.fingerprint()}) as w:
        w.append(maps)
    return Activity.load(path)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    graph = block_graph(local=False)
    return graph, write_activity(graph, tmp_path_factory.mktemp("a") / "act", 0.2)


@pytest.fixture(scope="module")
def unshared(tmp_path_factory):
    graph = block_graph(local=True)
    return graph, write_activity(graph, tmp_path_factory.mktemp("a") / "act", 0.2)


def test_report_has_the_common_columns_and_every_layer(shared):
    graph, activity = shared
    report = simulate(graph, activity, "h200")
    assert list(report.frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    elapsed = report.frame[report.frame.event == "elapsed"]
    assert set(elapsed.layer) >= {"stem", "conv", "lif0", "add", "fc", "output"}
    assert (report.frame.energy_pj >= 0).all() and report.frame.hardware.eq("gpu:h200").all()
    s = report.summary
    # one stream runs the kernels one after another: the elapsed time covers their GPU time
    assert s["latency_cycles"] >= s["gpu_busy_cycles"] > 0


def test_useful_macs_are_the_layers_macs_counted_by_hand(shared):
    graph, activity = shared
    c, h = 16, 16  # block_graph's defaults
    stem = h * h * c * 3 * 9  # 3x3 over 3 input channels, padding 1: once (static input)
    conv = STEPS * h * h * c * c * 9  # every step
    fc = STEPS * 10 * c * (h // 2) * (h // 2)  # after the 2x2 max pool
    assert simulate(graph, activity, "h200").summary["useful_macs"] == stem + conv + fc


def test_static_energy_is_the_static_power_alone_and_dynamic_energy_is_linear_in_prices(shared):
    graph, activity = shared
    base = simulate(graph, activity, "h200")
    spec = load_config("h200").spec
    hot = simulate(graph, activity, "h200", overrides={"static_w": 2 * spec.static_w}).summary
    s = base.summary
    # twice the idle power: twice the static energy, the same time and dynamic energy
    assert hot["energy_static_pj"] == pytest.approx(2 * s["energy_static_pj"])
    assert s["energy_dynamic_pj"] > 0  # equal up to summation order (i.e. rounding)
    assert hot["energy_dynamic_pj"] == pytest.approx(s["energy_dynamic_pj"], rel=1e-12)
    assert hot["latency_s"] == s["latency_s"]
    # twice the DRAM price: the total grows by exactly the DRAM rows' energy (each action is
    # priced once, and the total includes it)
    dram_pj = base.frame.query("component == 'dram'").energy_pj.sum()
    dear = simulate(
        graph, activity, "h200", overrides={"dram_pj_per_bit": 2 * spec.dram_pj_per_bit}
    )
    assert dram_pj > 0
    assert dear.summary["energy_pj"] - s["energy_pj"] == pytest.approx(dram_pj)


def test_batch_rows_are_per_inference(shared):
    graph, activity = shared
    one, many = (
        simulate(graph, activity, "h200", batch=b, implementation="tuned") for b in (1, 32)
    )
    assert many.summary["latency_s"] > one.summary["latency_s"]
    assert many.summary["throughput_img_s"] > 4 * one.summary["throughput_img_s"]
    macs = [r.frame.query("event == 'mac_bf16'").events.sum() for r in (one, many)]
    assert macs[1] == pytest.approx(macs[0], rel=0.3)  # per image, up to tile padding


def test_event_execution_counts_the_recorded_spikes(tmp_path, shared):
    graph, activity = shared
    dense = simulate(graph, activity, "h200")
    event = simulate(graph, activity, "h200", execution="event")
    ops = event.frame.groupby("layer").op.first()
    assert "alu_op" in set(event.frame[event.frame.layer == "conv"].event)
    assert ops["conv"] == "conv"
    assert event.summary["sops"] > 0
    silent = write_activity(graph, tmp_path / "silent", 0.0)
    quiet = simulate(graph, silent, "h200", execution="event")
    assert quiet.summary["sops"] == 0
    assert quiet.summary["gpu_busy_cycles"] < event.summary["gpu_busy_cycles"]
    assert dense.summary["sops"] == 0
    with pytest.raises(ValueError, match="Activity"):
        simulate(graph, None, "h200", execution="event")


def test_unshared_weights_stream_from_dram(shared, unshared):
    (g_shared, a_shared), (g_local, a_local) = shared, unshared
    for preset in ("h200", "orin"):
        s = simulate(g_shared, a_shared, preset, implementation="tuned").summary
        u = simulate(g_local, a_local, preset, implementation="tuned").summary
        local_bytes = g_local["conv"].weight_count * 2
        assert u["dram_bytes"] > local_bytes > 10 * s["dram_bytes"]
        assert u["dram_bytes"] > s["dram_bytes"]
        assert u["latency_s"] > s["latency_s"]
    kernels = simulate(g_local, a_local, "h200").frame
    assert kernels[kernels.layer == "conv"].query("event == 'elapsed'").events.item() > 4


def test_settings_are_checked_by_name(shared):
    graph, activity = shared
    for kwargs, name in [
        ({"batch": 0}, "batch"),
        ({"execution": "sparse"}, "execution"),
        ({"dtype": "fp8"}, "dtype"),
        ({"implementation": "jit"}, "implementation"),
    ]:
        with pytest.raises(ValueError, match=name):
            simulate(graph, activity, "h200", **kwargs)
    with pytest.raises(ConfigError, match="tensor_efficiency"):
        simulate(graph, activity, "h200", overrides={"tensor_efficiency": 2})


def test_activity_of_another_graph_is_rejected(tmp_path, shared):
    graph, _ = shared
    other = block_graph(local=False, seed=1)
    with pytest.raises(ActivityError, match="another graph"):
        simulate(other, write_activity(graph, tmp_path / "a", 0.1), "h200")


def test_dtype_and_implementation_move_time_the_expected_way(shared):
    graph, activity = shared

    def busy(**kw):
        report = simulate(graph, activity, "h200", batch=64, **kw)
        return report.summary["gpu_busy_cycles"]

    assert busy(dtype="int8") < busy(dtype="bf16") < busy(dtype="fp32")
    assert busy(implementation="tuned") < busy(implementation="eager")
    eager = simulate(graph, activity, "h200").summary
    tuned = simulate(graph, activity, "h200", implementation="tuned").summary
    assert eager["kernels"] > tuned["kernels"] and eager["latency_s"] > 3 * tuned["latency_s"]


def test_the_edge_gpu_is_slower_but_spends_less_energy(shared):
    graph, activity = shared
    big = simulate(graph, activity, "h200", batch=64, implementation="tuned").summary
    edge = simulate(graph, activity, "orin", batch=64, implementation="tuned").summary
    assert edge["latency_s"] > big["latency_s"]
    assert edge["board_energy_pj"] < big["board_energy_pj"]


@settings(max_examples=15, deadline=None)
@given(
    density=st.floats(0.0, 1.0),
    batch=st.integers(1, 8),
    preset=st.sampled_from(["h200", "h100-sxm", "a100-sxm", "orin"]),
    execution=st.sampled_from(["dense", "event"]),
)
def test_laws_hold_for_any_activity(tmp_path_factory, density, batch, preset, execution):
    graph = block_graph(local=False, channels=8, size=8)
    activity = write_activity(graph, tmp_path_factory.mktemp("a") / "act", density)
    report = simulate(graph, activity, preset, batch=batch, execution=execution)
    frame, s = report.frame, report.summary
    assert (frame.events >= 0).all() and (frame.cycles >= 0).all()
    assert s["latency_cycles"] >= s["gpu_busy_cycles"]
    # board and static energy are two powers over the same elapsed time, per inference
    spec = load_config(preset).spec
    assert s["board_energy_pj"] / s["energy_static_pj"] == pytest.approx(
        spec.board_w / spec.static_w
    )


def test_an_ideal_unshared_kernel_still_streams_every_weight(unshared):
    graph, activity = unshared
    unfold = simulate(graph, activity, "orin").summary
    implicit = simulate(graph, activity, "orin", implementation="tuned").summary
    weights = graph["conv"].weight_count * 2
    assert implicit["kernels"] < unfold["kernels"]
    assert weights < implicit["dram_bytes"] < unfold["dram_bytes"]
    assert implicit["latency_s"] > weights / (load_config("orin").spec.dram_gb_s * 1e9)


def loop_sops(spikes: np.ndarray, cout: int) -> float:
    """SOPs of a 3×3, padding-1, stride-1 conv by explicit loops over outputs and taps:
    every input spike inside a window reaches the window's ``cout`` outputs. Mean per sample."""
    _, _, _, h, w = spikes.shape
    total = 0.0
    for y in range(h):
        for x in range(w):
            for i in range(3):
                for j in range(3):
                    iy, ix = y + i - 1, x + j - 1
                    if 0 <= iy < h and 0 <= ix < w:
                        total += spikes[:, :, :, iy, ix].sum() * cout
    return total / len(spikes)


def test_event_work_counts_every_spike_on_every_synapse(shared):
    graph, activity = shared
    event = simulate(graph, activity, "h200", execution="event", batch=2)
    conv_sops = loop_sops(activity.maps("lif0"), graph["conv"].shape[0])
    fc_sops = activity.maps("flat").sum() / activity.samples * graph["fc"].shape[0]
    assert event.summary["sops"] == pytest.approx(conv_sops + fc_sops)
    adds = event.frame.query("layer == 'conv' and event == 'alu_op'").events.sum()
    assert adds >= conv_sops
