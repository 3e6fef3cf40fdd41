"""Each hardware package names a category for every component its model reports, so a
breakdown figure never falls back to a raw component name or drops one."""

import pytest
from tiny_network import tiny, tiny_activity

from rshw.pipeline.hardware import HARDWARE, module
from rshw.reporting.categories import by_category
from simulators.cim.energy import ACTIONS
from simulators.components import CATEGORIES


@pytest.mark.parametrize("hardware", HARDWARE)
def test_every_category_is_a_named_one(hardware):
    assert set(module(hardware).COMPONENT_CATEGORIES.values()) <= set(CATEGORIES)


def test_every_cim_action_and_area_row_has_a_category():
    components = {component for component, _, _ in ACTIONS.values()} | {"global_buffer"}
    assert components <= set(module("cim").COMPONENT_CATEGORIES)


@pytest.mark.parametrize("hardware", HARDWARE)
def test_every_reported_component_has_a_category(hardware, tmp_path):
    graph = tiny()
    report = module(hardware).simulate(graph, tiny_activity(graph, tmp_path / "a"))
    reported = set(report.frame.component)
    assert reported and reported <= set(module(hardware).COMPONENT_CATEGORIES)


def test_by_category_sums_components_into_their_categories():
    import pandas as pd

    energy = pd.Series({"crossbar": 2.0, "adder": 1.0, "adc": 4.0, "noc": 0.0, "leakage": 0.5})
    assert by_category(energy, "cim").to_dict() == {
        "compute": 3.0,
        "periphery and ADC": 4.0,
        "static": 0.5,
    }
