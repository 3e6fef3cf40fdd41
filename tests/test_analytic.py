import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators import analytic
from simulators.activity import Activity, ActivityError, ActivityWriter
from simulators.config import ConfigError
from simulators.ir import Graph


def random_graph(c, h, k, stride, pad, cout, local, seed=0) -> Graph:
    rng = np.random.default_rng(seed)
    g = Graph({"timesteps": 2})
    g.add("input", "input", shape=(2, h, h))
    g.add("stem", "conv", ["input"], attrs={"padding": 1}, weight=rng.normal(size=(c, 2, 3, 3)))
    g.add("lif1", "lif", ["stem"], attrs={"tau": 0.25, "v_th": 0.5})
    arrays = {"weight": rng.normal(size=(cout, c, k, k))}
    if local:
        arrays["in_scale"] = rng.uniform(0.5, 1.5, (c, h, h))
    g.add(
        "conv",
        "local" if local else "conv",
        ["lif1"],
        attrs={"stride": stride, "padding": pad, "binary_input": True},
        **arrays,
    )
    g.add("lif2", "lif", ["conv"], attrs={"tau": 0.25, "v_th": 0.5})
    g.add("flat", "flatten", ["lif2"])
    g.add(
        "fc",
        "linear",
        ["flat"],
        attrs={"binary_input": True},
        weight=rng.normal(size=(3, int(np.prod(g["lif2"].shape)))),
    )
    g.add("output", "output", ["fc"])
    return g.validate()


def random_activity(graph, path, samples, density, seed=0, chunk=3) -> Activity:
    rng = np.random.default_rng(seed)
    edges = {e: graph[e].shape for e in graph.spike_edges()}
    maps = {e: rng.random((samples, 2, *s)) < density for e, s in edges.items()}
    maps["flat"] = maps["lif2"].reshape(samples, 2, -1)
    with ActivityWriter(path, edges, 2, {"graph_fingerprint": graph.fingerprint()}) as w:
        for start in range(0, samples, chunk):
            w.append({e: m[start : start + chunk] for e, m in maps.items()})
    return Activity.load(path), maps


def brute_force_sops(spikes: np.ndarray, cout: int, k: int, stride: int, pad: int) -> np.ndarray:
    """Explicit loops over a masked dense convolution: one SOP per (spike, synapse), per step."""
    samples, steps, _, h, w = spikes.shape
    ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    total = np.zeros(steps)
    for t in range(steps):
        for y in range(ho):
            for x in range(wo):
                for i in range(k):
                    for j in range(k):
                        iy, ix = y * stride + i - pad, x * stride + j - pad
                        if 0 <= iy < h and 0 <= ix < w:
                            total[t] += spikes[:, t, :, iy, ix].sum() * cout
    return total / samples


@settings(max_examples=25, deadline=None)
@given(
    c=st.integers(1, 3),
    h=st.integers(3, 8),
    k=st.sampled_from([1, 2, 3, 5]),
    stride=st.integers(1, 3),
    pad=st.integers(0, 2),
    cout=st.integers(1, 4),
    local=st.booleans(),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0, 1000),
)
def test_sops_equal_brute_force(tmp_path_factory, c, h, k, stride, pad, cout, local, density, seed):
    if h + 2 * pad < k:
        return
    graph = random_graph(c, h, k, stride, pad, cout, local, seed)
    path = tmp_path_factory.mktemp("act") / "a"
    activity, maps = random_activity(graph, path, samples=5, density=density, seed=seed)
    counts = analytic.count(graph, activity)
    conv = counts[counts.layer == "conv"].sops.to_numpy()
    np.testing.assert_allclose(conv, brute_force_sops(maps["lif1"], cout, k, stride, pad))
    fc = counts[counts.layer == "fc"].sops.to_numpy()
    np.testing.assert_allclose(fc, maps["flat"].sum((0, 2)) / 5 * 3)
    stem = counts[counts.layer == "stem"]
    dense = brute_force_sops(np.ones((1, 1, 2, h, h)), c, 3, 1, 1)[0]  # every synapse once
    assert list(stem.macs) == [dense, 0.0] and (stem.sops == 0).all()  # static input: once


def test_rate_conventions_on_a_fully_active_input(tmp_path):
    # 6×6 input, 3×3 kernel, padding 1, stride 1: per axis the 6 outputs see 2, 3, 3, 3, 3, 2
    # real inputs (16 in all), so 16² = 256 real taps per channel pair; syops counts 9 × 36 = 324
    graph = random_graph(2, 6, 3, 1, 1, 3, local=False)
    activity, _ = random_activity(graph, tmp_path / "a", samples=4, density=1.01)
    conv = analytic.count(graph, activity).query("layer == 'conv'")
    assert list(conv.sops) == [2 * 3 * 256] * 2
    assert list(conv.sops_rate_border_aware) == [2 * 3 * 256] * 2
    assert list(conv.sops_rate_dense_padded) == [2 * 3 * 324] * 2
    assert activity.rate("lif1") == 1.0


def test_activity_round_trip_and_errors(tmp_path):
    graph = random_graph(2, 5, 3, 1, 1, 2, local=False)
    activity, maps = random_activity(graph, tmp_path / "a", samples=7, density=0.3)
    np.testing.assert_array_equal(activity.maps("lif1"), maps["lif1"])
    np.testing.assert_array_equal(activity.maps("flat", slice(2, 5)), maps["flat"][2:5])
    assert activity.samples == 7 and activity.rates("lif2").shape == (2,)
    np.testing.assert_allclose(activity.rates("lif1"), maps["lif1"].mean((0, 2, 3, 4)))
    with pytest.raises(ActivityError, match="no edge 'stem'"):
        activity.rates("stem")
    other = random_graph(2, 5, 3, 1, 1, 2, local=False, seed=9)
    with pytest.raises(ActivityError, match="recorded on another graph"):
        analytic.count(other, activity)
    writer = ActivityWriter(tmp_path / "b", {"lif1": (2, 5, 5)}, 2)
    with pytest.raises(ActivityError, match=r"expected \[n, 2, 2, 5, 5\]"):
        writer.append({"lif1": np.zeros((1, 2, 2, 4, 4))})
    with pytest.raises(ActivityError, match="unfinished recording"):
        Activity.load(tmp_path / "b")


def test_malformed_energy_tables_name_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    base = (analytic.model.PRESETS / "horowitz-45nm-fp32.toml").read_text()
    bad.write_text(base + "adc_pj = 1.0\n")
    with pytest.raises(ConfigError, match="unknown key 'adc_pj'; allowed keys: name, mac_pj"):
        analytic.load_energy_table(bad)
    bad.write_text(
        base.replace('add_pj = {value = 0.9, unit = "pJ"', 'add_pj = {value = 0.9, unit = "nJ"')
    )
    with pytest.raises(ConfigError, match="key 'add_pj' must be given in 'pJ', not 'nJ'"):
        analytic.load_energy_table(bad)
    bad.write_text(base.replace("value = 32, unit", "value = 0, unit", 1))
    with pytest.raises(ConfigError, match="key 'weight_bits': must be an integer in 1..64"):
        analytic.load_energy_table(bad)
    with pytest.raises(ConfigError, match="unknown preset 'tsmc-5nm'; presets: horowitz-45nm-fp32"):
        analytic.load_energy_table("tsmc-5nm")
