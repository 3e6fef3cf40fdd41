import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.cim import load_config, map_graph
from simulators.cim.closed_form import dense_work
from simulators.cim.energy import ACTIONS
from simulators.cim.work import LayerCosts, active_crossbars, events, layer_work
from simulators.ir import Graph


def one_layer(cin, size, k, stride, pad, cout, op="conv") -> Graph:
    rng = np.random.default_rng(1)
    g = Graph({"timesteps": 2})
    g.add("input", "input", shape=(1, size, size))
    g.add("stem", "conv", ["input"], attrs={"padding": 1}, weight=rng.normal(size=(cin, 1, 3, 3)))
    g.add("lif", "lif", ["stem"], attrs={"tau": 0.25, "v_th": 0.5})
    arrays = {"weight": rng.normal(size=(cout, cin, k, k))}
    if op == "local":
        arrays["in_scale"] = np.ones((cin, size, size))
    g.add(
        "layer",
        op,
        ["lif"],
        attrs={"stride": stride, "padding": pad, "binary_input": True},
        **arrays,
    )
    g.add("output", "output", ["layer"])
    return g.validate()


def brute_force(spikes, m, rows_per_crossbar, style):
    """Loops: a row block is read at a position if any of its (channel, offset) rows spikes."""
    steps, cin, h, w = spikes.shape
    kh, kw = m.kernel
    if style == "im2col":
        rows = [(c, i, j) for c in range(cin) for i in range(kh) for j in range(kw)]
        blocks = [rows[s : s + rows_per_crossbar] for s in range(0, len(rows), rows_per_crossbar)]
    else:
        blocks = [
            [(c, i, j) for c in range(s, min(cin, s + rows_per_crossbar))]
            for s in range(0, cin, rows_per_crossbar)
            for i in range(kh)
            for j in range(kw)
        ]
    ho, wo = m.out_shape[1:]
    out = np.zeros((steps, m.pe_groups, ho, wo), int)
    for t in range(steps):
        for y in range(ho):
            for x in range(wo):
                for b, block in enumerate(blocks):
                    for c, i, j in block:
                        iy, ix = (
                            y * m.stride[0] + i - m.padding[0],
                            x * m.stride[1] + j - m.padding[1],
                        )
                        if 0 <= iy < h and 0 <= ix < w and spikes[t, c, iy, ix]:
                            out[t, b // m.crossbars_per_pe, y, x] += 1
                            break
    return out


@settings(max_examples=40, deadline=None)
@given(
    cin=st.integers(1, 12),
    size=st.integers(3, 7),
    k=st.sampled_from([1, 2, 3]),
    stride=st.integers(1, 2),
    pad=st.integers(0, 1),
    cout=st.integers(1, 5),
    style=st.sampled_from(["kernel-split", "im2col"]),
    density=st.floats(0, 1),
    seed=st.integers(0, 100),
)
def test_read_crossbars_equal_explicit_loops(cin, size, k, stride, pad, cout, style, density, seed):
    config = load_config(
        "spikesim-rram-65nm",
        {"crossbar_rows": 4, "crossbar_columns": 8, "mapping": style, "crossbars_per_pe": 3},
    )
    m = map_graph(one_layer(cin, size, k, stride, pad, cout), config).layers["layer"]
    spikes = np.random.default_rng(seed).random((2, cin, size, size)) < density
    np.testing.assert_array_equal(
        active_crossbars(spikes, m, config), brute_force(spikes, m, 4, style)
    )
    costs = LayerCosts.of(m, config)
    event = layer_work(m, config, costs, spikes, 2)
    dense = layer_work(m, config, costs, None, 2)
    for a, b in zip(
        events(costs, config, event.xbar.sum(), event.pe.sum(), event.neuron.sum()).values(),
        events(costs, config, dense.xbar.sum(), dense.pe.sum(), dense.neuron.sum()).values(),
        strict=True,
    ):
        assert a <= b
    assert (event.compute_cycles <= dense.compute_cycles).all()


def test_dense_work_is_the_closed_form_of_the_arrays():
    config = load_config("neurosim-rram-22nm", {"duplication": 3})
    g = one_layer(40, 7, 3, 1, 1, 50)
    for m in map_graph(g, config).layers.values():
        costs = LayerCosts.of(m, config)
        arrays = layer_work(m, config, costs, None, 2)
        formula = dense_work(m, config, costs, 2)
        for field in ("xbar", "pe", "neuron", "compute_cycles", "neuron_cycles"):
            np.testing.assert_array_equal(getattr(arrays, field), getattr(formula, field)[0])


def test_spikesim_pe_cycle_counts():
    """One dense PE-cycle of a 3×3 kernel-split PE: 9 crossbars × 8 phases, 64 conversions."""
    config = load_config("spikesim-rram-65nm")
    m = map_graph(one_layer(64, 4, 3, 1, 1, 64), config).layers["layer"]
    costs = LayerCosts.of(m, config)
    counts = events(costs, config, xbar=9, pe=1, neuron=1)
    assert counts["crossbar_reads"] == 72 and counts["adc_conversions"] == 64
    assert counts["temp_buffer_writes"] == 8 and counts["subtractor_bit_ops"] == 128
    assert counts["adds"] == 0 and costs.pe_cycle_cycles == 26
    pj = sum(counts[a] * getattr(config, key) for a, (_, _, key) in ACTIONS.items() if a in counts)
    assert pj == np.float64(828.4861472)


def test_unshared_rows_run_their_positions_in_parallel():
    config = load_config("spikesim-rram-65nm")
    for op, row_cycles in (("conv", 5 * 26), ("local", 26)):
        m = map_graph(one_layer(8, 5, 3, 1, 1, 64, op), config).layers["layer"]
        work = layer_work(m, config, LayerCosts.of(m, config), None, 2)
        assert (work.compute_cycles == row_cycles).all()
