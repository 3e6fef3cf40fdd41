"""Per-image GPU numbers: event-driven runs price each image's own spikes; dense runs give none,
and carry the calibration's model error instead (never as an interval over images)."""

import math

import numpy as np
import pytest

from rshw.pipeline.image_stats import image_columns
from simulators.activity import Activity, ActivityWriter
from simulators.gpu import simulate
from tests.gpu.test_gpu_model import STEPS, block_graph

DENSITIES = (0.4, 0.1, 0.0)  # image 0 spikes most, image 2 never


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Three images whose spike densities differ (the same random draw, thresholded)."""
    graph = block_graph(local=False)
    rng = np.random.default_rng(1)
    edges = {e: graph[e].shape for e in graph.spike_edges()}
    maps = {}
    for e, shape in edges.items():
        draw = rng.random((len(DENSITIES), STEPS, *shape))
        limit = np.array(DENSITIES).reshape(-1, *[1] * (draw.ndim - 1))
        maps[e] = draw < limit
    path = tmp_path_factory.mktemp("a") / "act"
    with ActivityWriter(path, edges, STEPS, {"graph_fingerprint": graph.fingerprint()}) as w:
        w.append(maps)
    return graph, Activity.load(path)


def test_event_images_sum_to_the_batch_and_follow_their_spikes(graded):
    graph, activity = graded
    batch = activity.samples  # a batch made of exactly the traced images
    report = simulate(graph, activity, "h200", execution="event", batch=batch)
    images = report.per_image
    # per-inference rows x batch = the batch's energy; the images' own energies add up to it
    assert images.energy_pj.sum() == pytest.approx(report.summary["energy_pj"] * batch)
    # more spikes, more energy and time: image 0 > image 1 > image 2 (silent)
    assert images.energy_pj.is_monotonic_decreasing and images.energy_pj.nunique() == 3
    assert images.latency_s.iloc[0] > images.latency_s.iloc[2]
    # the silent image pays nothing for synaptic operations: its energy is the batch's per-image
    # energy minus the scatter kernels' per-image share, less at most the static part's share
    scatter = report.frame.query("layer in ('conv', 'fc') and event == 'alu_op'").energy_pj.sum()
    assert images.energy_pj.iloc[2] <= report.summary["energy_pj"] - scatter + 1e-6
    assert images.sops.iloc[2] == 0
    cols = image_columns(report)
    assert cols["energy_uj_ci95"] > 0  # a real spread over images, from their spikes


def test_dense_images_have_no_interval_only_the_model_error(graded):
    graph, activity = graded
    report = simulate(graph, activity, "h200", batch=4)
    assert "energy_pj" not in report.per_image and "latency_s" not in report.per_image
    cols = image_columns(report)
    assert math.isnan(cols["energy_uj_ci95"]) and math.isnan(cols["latency_ms_ci95"])
    # the H200 fit's error on its own timings: a few percent, never 0, never a spread
    assert 1 < cols["model_error_pct"] < 20
    assert report.summary["model_error_worst_pct"] >= cols["model_error_pct"]
    # a preset that borrows a fit has no measured error
    assert "model_error_pct" not in simulate(graph, activity, "orin").summary
