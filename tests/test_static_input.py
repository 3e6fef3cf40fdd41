"""One static-input convention in all three hardware models, on a network priced by hand.

The stem of ``tiny_network`` is a 1×1 conv, one input channel and one output channel, on a
1×2 image: 2 MACs per step. "once" charges them one time, "every_step" T = 2 times (the
analytic model's check, with the energy priced by hand, is in ``test_analytic_priced.py``).
"""

import pytest
from tiny_network import tiny, tiny_activity

from simulators import analytic, cim, gpu


@pytest.fixture
def both(tmp_path):
    once, every = tiny(), tiny("every_step")
    return (once, tiny_activity(once, tmp_path / "a")), (
        every,
        tiny_activity(every, tmp_path / "b"),
    )


def test_cim_reads_the_stem_crossbar_once_or_every_step(both):
    # spikesim preset: a 1-channel, 1×1 kernel stem on one crossbar row block; one output row of
    # 2 positions; 8 bit-serial passes per position; 1 used column → 1 ADC phase.
    # Crossbar reads per step: 2 positions × 8 passes = 16.
    reads = []
    for graph, activity in both:
        frame = cim.simulate(graph, activity, "spikesim-rram-65nm", mode="dense").frame
        reads.append(frame.query("layer == 'stem' and component == 'crossbar'").events.sum())
    assert reads == [16, 32]
    one_bit = cim.load_config("spikesim-rram-65nm", {"real_input_bits": 1})
    frame = cim.simulate(*both[0], one_bit, mode="dense").frame
    assert frame.query("layer == 'stem' and component == 'crossbar'").events.sum() == 2


def test_gpu_runs_the_stem_once_or_every_step(both):
    useful = [gpu.simulate(g, act, "h200").summary["useful_macs"] for g, act in both]
    assert useful[1] - useful[0] == 2  # one more step of the stem's 2 MACs


def test_every_model_reports_the_same_images(both):
    graph, activity = both[0]
    reports = [
        analytic.simulate(graph, activity, "horowitz-45nm-fp32"),
        cim.simulate(graph, activity, "spikesim-rram-65nm"),
        gpu.simulate(graph, activity, "h200"),
    ]
    for report in reports:
        assert list(report.per_image.image) == [0, 1]
        assert list(report.per_image.sops) == [3, 1]  # spikes into the 2→1 linear layer
        assert report.summary["images"] == 2
