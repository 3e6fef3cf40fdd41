"""Per-image CIM results: every traced image by default, each priced by its own spikes."""

import math

import numpy as np
import pytest
from tiny_network import tiny, tiny_activity

from simulators.cim import load_config, simulate


def test_images_differ_only_by_their_spikes(tmp_path):
    graph = tiny()
    activity = tiny_activity(graph, tmp_path / "a")
    event = simulate(graph, activity, "spikesim-rram-65nm")
    dense = simulate(graph, activity, "spikesim-rram-65nm", mode="dense")
    # image 0 sends 3 spikes into the linear layer, image 1 sends 1: dense mode reads every
    # crossbar whatever the spikes, event mode skips silent windows
    e, d = event.per_image.energy_pj.to_numpy(), dense.per_image.energy_pj.to_numpy()
    assert e[0] > e[1] and d[0] == d[1] and (e <= d).all()
    assert (event.per_image.latency_s > 0).all()
    # image 0 has a spike into fc at both steps: event mode reads what dense mode reads
    assert e[0] == pytest.approx(d[0])
    # image 1 is silent into fc at step 0: one fc read fewer, priced from the dense breakdown
    # (fc's reads at both steps of each image; its neurons update whatever the spikes)
    fc = dense.frame.query("layer == 'fc' and component != 'neuron'").energy_pj.sum()
    assert d[1] - e[1] == pytest.approx(fc / 2)
    # the per-image pricing and the per-inference breakdown are two paths to one mean
    assert event.summary["energy_pj_mean"] == pytest.approx(event.summary["energy_pj"])
    assert event.summary["images"] == 2
    # two images: the 95 % Student t half-width is t(0.975, 1) |e0 - e1| / 2
    assert event.summary["energy_pj_ci95"] == pytest.approx(12.706205 * abs(e[0] - e[1]) / 2)


def test_samples_limits_the_images(tmp_path):
    graph = tiny()
    report = simulate(graph, tiny_activity(graph, tmp_path / "a"), "spikesim-rram-65nm", samples=1)
    assert list(report.per_image.image) == [0] and math.isnan(report.summary["energy_pj_ci95"])


def test_only_the_adcs_energy_and_area_follow_adc_bits(tmp_path):
    graph = tiny()
    activity = tiny_activity(graph, tmp_path / "a")
    reports = {
        b: simulate(graph, activity, load_config("spikesim-rram-65nm", {"adc_bits": b}))
        for b in (4, 6)
    }
    tables = {
        b: r.frame.groupby("component")[["energy_pj", "area_um2"]].sum() for b, r in reports.items()
    }
    four, six = tables[4], tables[6]
    assert four.loc["adc", "energy_pj"] > 0 and four.loc["adc", "area_um2"] > 0
    # SpikeSim's ADC is quoted at 4 bits: two more bits, 4x the energy and area of every ADC
    np.testing.assert_allclose(six.loc["adc"], 4 * four.loc["adc"])
    others = four.index.drop("adc")
    np.testing.assert_allclose(six.loc[others], four.loc[others])
