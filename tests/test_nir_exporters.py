"""NIR files written by other frameworks' own exporters import and agree spike for spike.

The fixtures (tests/fixtures/nir/, made by make_fixtures.py there) are snnTorch 1.0.0's and
SpikingJelly 2.0.0's exports of a small conv + LIF and a small linear + LIF network, each with
the spikes its framework produced on a fixed input.
"""

import re
from pathlib import Path

import hypothesis.strategies as st
import nir
import numpy as np
import pytest
import torch
from hypothesis import given, settings

from simulators import executor
from simulators.ir import GraphError
from simulators.nir_io import DEFAULT_DT, file_dt, from_nir, read_nir, write_nir

FIXTURES = Path(__file__).parent / "fixtures" / "nir"
NAMES = ["snntorch_conv", "snntorch_linear", "spikingjelly_conv", "spikingjelly_linear"]


def fixture(name: str) -> tuple[Path, dict[str, np.ndarray]]:
    data = np.load(FIXTURES / f"{name}.npz")
    return FIXTURES / f"{name}.nir", {k: data[k] for k in data.files}


def assert_framework_spikes(graph, data: dict[str, np.ndarray], dtype) -> None:
    outputs = executor.run(graph, data["x"], dtype=dtype)
    lifs = sorted(k for k in data if k != "x")
    assert lifs == sorted(n.name for n in graph if n.op == "lif")
    for name in lifs:
        assert 0.1 <= data[name].mean() <= 0.7, "degenerate activity makes the test vacuous"
        np.testing.assert_array_equal(outputs[name], data[name], err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_exported_files_agree_spike_for_spike(name, dtype):
    path, data = fixture(name)
    assert file_dt(nir.read(path)) is None  # neither exporter records its dt
    graph = read_nir(path)  # so the default, both exporters' 1e-4, applies
    assert_framework_spikes(graph, data, dtype)
    assert all(n.attrs["tau"] == pytest.approx(0.75, abs=1e-6) for n in graph if n.op == "lif")


def test_float32_files_get_no_spurious_gain_but_a_real_gain_stays():
    """snnTorch writes r = tau_m / dt in float32 (gain 1 up to rounding); SpikingJelly's
    ``decay_input=True`` LIF has a real input gain 1/tau = 0.25."""
    for name in ("snntorch_conv", "snntorch_linear", "spikingjelly_linear"):
        graph = read_nir(fixture(name)[0])
        assert not [n.name for n in graph if n.op == "scale"], name
    graph = read_nir(fixture("spikingjelly_conv")[0])
    gains = [n for n in graph if n.op == "scale"]
    assert [n.name for n in gains] == ["_1.gain", "_5.gain"]
    assert all(float(n.arrays["scale"].flat[0]) == pytest.approx(0.25) for n in gains)


@settings(max_examples=60, deadline=None)
@given(beta=st.floats(0.01, 0.99), dt=st.sampled_from([1e-4, 1e-3, 1.0]))
def test_float32_rounding_of_r_is_not_a_gain(beta, dt):
    """snnTorch's export arithmetic in float32: tau_m = dt / (1 - beta), r = tau_m / dt."""
    beta32 = np.full(3, beta, dtype=np.float32)
    tau_m = dt / (1 - beta32)
    r = tau_m / dt
    assert tau_m.dtype == r.dtype == np.float32
    graph = from_nir(lif_graph(tau_m, r), dt=dt)
    assert "lif.gain" not in graph.nodes


@pytest.mark.parametrize(("dtype", "off"), [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_a_gain_beyond_rounding_is_kept(dtype, off):
    tau_m = np.full(3, 2.0, dtype=dtype)
    r = np.full(3, 2.0 * (1 + off), dtype=dtype)
    graph = from_nir(lif_graph(tau_m, r), dt=1.0)
    assert float(graph["lif.gain"].arrays["scale"].flat[0]) == pytest.approx(1 + off, rel=1e-7)


def lif_graph(tau_m: np.ndarray, r: np.ndarray, input_shape=(3,)) -> nir.NIRGraph:
    n = tau_m.size
    nodes = {
        "input": nir.Input(np.array(input_shape)),
        "fc": nir.Linear(np.eye(n, dtype=tau_m.dtype)),
        "lif": nir.LIF(
            tau=tau_m,
            r=r,
            v_leak=np.zeros_like(tau_m),
            v_threshold=np.full_like(tau_m, 0.5),
            v_reset=np.zeros_like(tau_m),
        ),
        "output": nir.Output(np.array([n])),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    return nir.NIRGraph(nodes, edges, type_check=len(input_shape) == 1)


def test_in_memory_graphs_with_tensor_parameters_import():
    """An exporter's in-memory graph holds torch tensors (requiring grad, even)."""
    path, data = fixture("snntorch_conv")
    graph = nir.read(path)
    for node in graph.nodes.values():
        for key, value in vars(node).items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                setattr(node, key, torch.tensor(value, requires_grad=True))
    assert_framework_spikes(from_nir(graph), data, np.float32)


def test_a_wrong_dt_names_dt_and_how_to_set_it():
    path, _ = fixture("snntorch_conv")
    with pytest.raises(GraphError, match=re.escape("dt = 0.001 s")) as error:
        read_nir(path, dt=1e-3)
    assert "--dt" in str(error.value) and "1e-4" in str(error.value)


def test_the_dt_a_file_records_is_used(tmp_path):
    """rshw records dt; read without one, the file's dt (not the default) applies."""
    path, data = fixture("spikingjelly_linear")
    graph = read_nir(path, dt=DEFAULT_DT)
    written = write_nir(graph, tmp_path / "g.nir", dt=0.5)
    assert file_dt(nir.read(written)) == 0.5
    assert_framework_spikes(read_nir(written), data, np.float64)
    # tau_m = 0.5 s / (1 - 0.75) = 2 s: an explicit dt of 1 s wins and halves the decay
    assert read_nir(written, dt=1.0)["_1"].attrs["tau"] == pytest.approx(0.5)


def test_an_input_with_a_batch_dimension_is_explained():
    tau_m = np.full(3, 2.0)
    with pytest.raises(GraphError, match="NIR input shapes carry no batch dimension"):
        from_nir(lif_graph(tau_m, tau_m, input_shape=(1, 3)), dt=1.0)
