"""A two-layer network priced by hand: energies, per-image statistics, static input, DRAM."""

import numpy as np
import pandas as pd
import pytest
from tiny_network import tiny, tiny_activity

from simulators import analytic
from simulators.ir import GraphError, computed_once
from simulators.report import Report


def table(capacity_bytes=8192) -> analytic.EnergyTable:
    # one SRAM size in the table: every array costs 64 pJ per 64 bits = 1 pJ/bit
    return analytic.EnergyTable(
        name="hand",
        mac_pj=3.0,
        add_pj=1.0,
        mult_pj=2.0,
        compare_pj=0.25,
        weight_bits=8,
        membrane_bits=16,
        sram_kib=[8],
        sram_pj_per_64bit=[64.0],
        sram_capacity_bytes=capacity_bytes,
        dram_pj_per_64bit=640.0,
    )


# Per image, by hand (1 pJ per SRAM bit, weights 8 bit, membranes and accumulators 16 bit):
# stem, once: 2 MACs × 3 + 2 weight reads × 8 + 4 accumulator accesses × 16 = 86
# lif1, per step: 2 × (mult 2 + add 1 + compare 0.25) + 4 membrane accesses × 16 + 2 spike bits
#   written = 72.5, two steps 145
# fc, per step: 2 spike bits read = 2, two steps 4; per input spike: SOP 1 + weight read 8
#   + 2 accumulator accesses × 16 = 41
# lif2, per step: mult 2 + add 1 + compare 0.25 + 2 × 16 + 1 bit written = 36.25, two steps 72.5
FIXED_PJ = 86 + 145 + 4 + 72.5
PER_SPIKE_PJ = 41
SPIKES_INTO_FC = np.array([3, 1])


def test_energy_per_image_priced_by_hand(tmp_path):
    graph = tiny()
    report = analytic.simulate(graph, tiny_activity(graph, tmp_path / "a"), table())
    expected = FIXED_PJ + PER_SPIKE_PJ * SPIKES_INTO_FC  # [430.5, 348.5]
    np.testing.assert_allclose(report.per_image.energy_pj, expected)
    np.testing.assert_allclose(report.per_image.sops, SPIKES_INTO_FC)
    np.testing.assert_allclose(report.per_image.firing_rate, [4 / 6, 2 / 6])  # 3 LIFs × 2 steps
    s = report.summary
    assert s["energy_pj"] == pytest.approx(expected.mean())
    assert s["energy_arithmetic_pj"] == pytest.approx(6 + 2 * 6.5 + 2 * 3.25 + 2 * 1)
    assert s["images"] == 2 and s["energy_pj_mean"] == pytest.approx(389.5)
    # two images 82 pJ apart: sd 82/√2, standard error 41, t(0.975, 1 dof) = 12.706 (t table)
    assert s["energy_pj_ci95"] == pytest.approx(12.706 * 41, rel=1e-4)
    assert report.frame.query("layer == 'stem'").step.unique().tolist() == [0]


def test_static_input_every_step_charges_the_stem_at_every_step(tmp_path):
    once, every = tiny(), tiny("every_step")
    assert computed_once(once) == {"input", "stem"} and computed_once(every) == set()
    a = analytic.simulate(once, tiny_activity(once, tmp_path / "a"), table())
    b = analytic.simulate(every, tiny_activity(every, tmp_path / "b"), table())
    assert (a.summary["macs"], b.summary["macs"]) == (2, 4)
    np.testing.assert_allclose(b.per_image.energy_pj - a.per_image.energy_pj, [86, 86])
    with pytest.raises(GraphError, match="meta 'static_input' must be one of 'once'"):
        tiny("sometimes")


def test_weights_beyond_the_sram_stream_from_dram(tmp_path):
    graph = tiny()
    activity = tiny_activity(graph, tmp_path / "a")
    # capacity 2 bytes: the stem's 1-byte weight fits; fc's 2 bytes do not fit the 1 left
    placement = analytic.place_weights(graph, table(2))
    assert placement.on_chip == {"stem": 1.0} and placement.streamed == {"fc": 2.0}
    report = analytic.simulate(graph, activity, table(2))
    # fc, per step: 16 bits from DRAM at 640/64 = 10 pJ/bit + 16 bits written to SRAM at 1 pJ
    streamed = 2 * (16 * 10 + 16 * 1)
    expected = FIXED_PJ + PER_SPIKE_PJ * SPIKES_INTO_FC + streamed
    np.testing.assert_allclose(report.per_image.energy_pj, expected)
    assert report.summary["energy_dram_pj"] == pytest.approx(2 * 16 * 10)
    assert report.summary["weight_bytes_streamed"] == 2.0


def test_capacity_beyond_the_table_is_refused():
    with pytest.raises(ValueError, match="sram_capacity_bytes.*1..8192"):
        table(8193)


def test_report_saves_and_loads_its_per_image_table(tmp_path):
    graph = tiny()
    report = analytic.simulate(graph, tiny_activity(graph, tmp_path / "a"), table())
    report.save(tmp_path / "r", "analytic")
    again = Report.load(tmp_path / "r", "analytic")
    pd.testing.assert_frame_equal(again.per_image, report.per_image)
    assert again.summary["energy_pj_ci95"] == pytest.approx(12.706 * 41, rel=1e-4)
    with pytest.raises(ValueError, match="per_image needs an 'image' column"):
        Report(report.frame, per_image=pd.DataFrame({"energy": [1.0]}))
