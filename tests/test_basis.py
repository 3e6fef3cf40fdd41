"""The common comparison basis: Stillmaker & Baas node scaling, the common capacity policy and
precision, each hardware's declaration; expectations by hand from the published coefficients."""

import numpy as np
import pandas as pd
import pytest

from rshw.pipeline.basis import on_basis
from rshw.pipeline.hardware import HardwareRun
from simulators.basis import (
    COMMON_DRAM_PJ_PER_BIT,
    NativeNode,
    energy_factor,
    node_scale,
    rebase,
    rebase_report,
)
from simulators.ir import Graph
from simulators.report import Report


def test_node_energy_from_the_published_equations():
    """Stillmaker & Baas 2017, Table 4 (HP): E = a2 V^2 + a1 V + a0, evaluated by hand."""
    assert energy_factor(45, 1.0) == pytest.approx(1.018 - 0.3107 + 0.1539)  # 0.8612
    seven = 0.1776 * 0.7**2 - 0.09097 * 0.7 + 0.02447  # 0.047815
    assert energy_factor(7, 0.7) == pytest.approx(seven)
    assert node_scale((7, 0.7), (45, 1.0)) == pytest.approx(0.8612 / seven)  # about 18x
    # 65 nm at 1.1 V to the common 45 nm at 0.9 V
    e65 = 3.755 * 1.21 - 4.398 * 1.1 + 1.975
    e45 = 1.018 * 0.81 - 0.3107 * 0.9 + 0.1539
    assert node_scale((65, 1.1)) == pytest.approx(e45 / e65)
    # between two table nodes: between their energies; outside 7-180 nm: refused
    assert energy_factor(20, 0.8) < energy_factor(22, 0.8) < energy_factor(32, 0.8)
    with pytest.raises(ValueError, match="outside"):
        energy_factor(4, 0.7)


def _graph() -> Graph:
    g = Graph({"timesteps": 1})
    g.add("input", "input", shape=(1, 4, 4))
    g.add("c", "conv", ["input"], attrs={"padding": 1}, weight=np.ones((2, 1, 3, 3)))
    return g


def _row(component, energy_pj):
    return {
        "hardware": "x",
        "layer": "c",
        "op": "conv",
        "step": -1,
        "component": component,
        "event": "e",
        "events": 1.0,
        "cycles": 0.0,
        "energy_pj": energy_pj,
        "area_um2": 0.0,
    }


def test_common_basis_scales_on_chip_keeps_static_and_replaces_dram():
    rows = [_row("arithmetic", 100.0), _row("dram", 50.0), _row("stream", 30.0)]
    per_image = pd.DataFrame({"image": [0, 1], "energy_pj": [120.0, 240.0]})
    report = Report.from_rows(rows, summary={"energy_pj": 180.0}, per_image=per_image)
    native = NativeNode(65.0, 1.1, "test", ("stream",))
    out = rebase_report(report, _graph(), native)
    scale = (1.018 * 0.81 - 0.3107 * 0.9 + 0.1539) / (3.755 * 1.21 - 4.398 * 1.1 + 1.975)
    weights_pj = 18 * 8 * 1300 / 64  # 18 weights, 8 bits, read once, Horowitz DRAM
    assert COMMON_DRAM_PJ_PER_BIT == pytest.approx(1300 / 64)
    assert out.total_energy_pj() == pytest.approx(100 * scale + 30 + weights_pj)
    assert out.summary["energy_pj"] == pytest.approx(out.total_energy_pj())
    assert out.summary["basis"] == "common" and out.summary["energy_native_pj"] == 180.0
    dram = out.frame[out.frame.component == "dram"]
    assert list(dram.event) == ["weight_read_bit"] and dram.events.item() == 18 * 8
    # per image: the weights' read is the same for both images, the rest keeps their 1:2 ratio
    rest = out.per_image.energy_pj - weights_pj
    assert rest.iloc[1] == pytest.approx(2 * rest.iloc[0])
    labelled = rebase("gpu", "h200", report, _graph(), "native")
    assert labelled.summary["basis"] == "native" and labelled.total_energy_pj() == 180.0
    with pytest.raises(ValueError, match="unknown basis"):
        rebase("gpu", "h200", report, _graph(), "fair")


def test_every_run_takes_the_common_precision_once():
    runs = [
        HardwareRun("analytic", "horowitz-45nm-fp32"),
        HardwareRun("analytic", "horowitz-45nm-int8"),
        HardwareRun("cim", "spikesim-rram-65nm"),
        HardwareRun("gpu", "orin", {"batch": 1}, "gpu batch=1"),
    ]
    common = on_basis(runs, "common")
    assert [(r.hardware, r.preset) for r in common] == [
        ("analytic", "horowitz-45nm-int8"),
        ("cim", "spikesim-rram-65nm"),
        ("gpu", "orin"),
    ]
    assert common[1].settings == {"weight_bits": 8}
    assert common[2].settings == {"batch": 1, "dtype": "int8"} and common[2].name == "gpu batch=1"
    assert on_basis(runs, "native") is runs


@pytest.mark.parametrize("hardware", ["analytic", "cim", "gpu"])
def test_every_preset_declares_its_node(hardware):
    from rshw.pipeline.hardware import preset_names
    from simulators.basis import _declaration

    for name in preset_names(hardware):
        node = _declaration(hardware).native_node(name)
        assert 7 <= node.node_nm <= 180 and node.source, name
        # models with a time axis declare where their static energy is
        assert bool(node.static_components) is (hardware != "analytic"), name


def test_rshw_simulate_takes_the_basis():
    from rshw.pipeline.plan import SimulateOptions, resolve

    plan = resolve(SimulateOptions(model="scnn", hardware=("analytic", "gpu"), basis="common"))
    assert plan.basis == "common"
    assert [r.preset for r in plan.runs] == ["horowitz-45nm-int8", "h200", "h200"]
    assert all(r.settings.get("dtype") == "int8" for r in plan.runs[1:])
    with pytest.raises(ValueError, match="unknown basis"):
        resolve(SimulateOptions(model="scnn", hardware=("analytic",), basis="fair"))
