"""Mean ± 95 % CI columns of a run, the ``--images auto`` stopping rule, and the hardware
protocol (``simulators.stats`` itself is tested in ``test_stats.py``)."""

import math

import pandas as pd
import pytest

from rshw.pipeline.hardware import HARDWARE, HardwareRun, expand_runs, module, split_options
from rshw.pipeline.image_stats import grow_images, image_columns
from simulators.report import Report


def _report(per_image=None, **summary):
    frame = pd.DataFrame(
        [
            {
                "hardware": "x",
                "layer": "l",
                "op": "conv",
                "step": -1,
                "component": "c",
                "event": "e",
                "events": 1.0,
                "cycles": 0.0,
                "energy_pj": 5e6,
                "area_um2": 0.0,
            }
        ]
    )
    report = Report(frame, summary=summary)
    if per_image is not None:
        report.per_image = per_image
    return report


def test_image_columns_from_per_image_rows():
    per_image = pd.DataFrame(
        {"image": [0, 1], "energy_pj": [1e6, 3e6], "latency_s": [1e-3, 1e-3], "sops": [10, 30]}
    )
    cols = image_columns(_report(per_image))
    # energy [1, 3] µJ: mean 2, sd sqrt(2), se 1, t(0.975, 1) = 12.706
    assert cols["energy_uj"] == pytest.approx(2.0)
    assert cols["energy_uj_ci95"] == pytest.approx(12.706, abs=1e-3)
    assert cols["latency_ms"] == pytest.approx(1.0) and cols["latency_ms_ci95"] == 0.0
    assert cols["sops"] == 20 and cols["firing_rate"] is None and cols["images"] == 2


def test_a_report_without_per_image_rows_has_no_interval():
    cols = image_columns(_report(sops=7.0))
    assert cols["energy_uj"] == pytest.approx(5.0)  # the frame's total, 5e6 pJ
    assert math.isnan(cols["energy_uj_ci95"]) and cols["sops"] == 7.0
    assert cols["latency_ms"] is None and cols["images"] is None


def test_grow_images_stops_at_the_target():
    seen = []

    def measure(n):
        seen.append(n)
        return {"a": 0.01, "b": 1 / math.sqrt(n)}  # b is within 20 % from 25 images on

    n, reason = grow_images(measure, 2, 256, 0.2)
    assert seen == [2, 4, 8, 16, 32] and n == 32
    assert reason.startswith("stopped by the CI target") and "widest: b" in reason


def test_grow_images_stops_at_the_cap_and_leaves_out_models_without_an_interval():
    seen = []

    def measure(n):
        seen.append(n)
        return {"a": 0.9, "b": math.nan}  # b (dense GPU) has no interval to tighten

    n, reason = grow_images(measure, 2, 10, 0.5)
    assert seen == [2, 4, 8, 10] and n == 10
    assert reason.startswith("stopped by the image cap (10)") and "a 90.00%" in reason
    n, reason = grow_images(lambda n: {"b": math.nan}, 2, 10, 0.5)
    assert n == 2 and reason.startswith("no model has an interval")
    with pytest.raises(ValueError, match="2 <= start"):
        grow_images(measure, 1, 10, 0.5)


@pytest.mark.parametrize("hw", HARDWARE)
def test_every_hardware_package_has_the_protocol(hw):
    package = module(hw)
    for name, (kind, allowed, help_text) in package.OPTIONS.items():
        assert isinstance(kind, type) and help_text, name
        assert allowed is None or all(isinstance(v, kind) for v in allowed), name
    for preset in package.preset_names():
        config = package.load_config(preset, None)
        assert not isinstance(config, tuple), preset  # the config itself, not (config, sources)


def test_settings_split_into_overrides_and_checked_options():
    assert split_options("gpu", {"batch": 4, "sm_count": 10}) == ({"sm_count": 10}, {"batch": 4})
    with pytest.raises(ValueError, match="gpu option batch must be int"):
        split_options("gpu", {"batch": 4.0})
    with pytest.raises(ValueError, match="gpu option batch must be int"):
        split_options("gpu", {"batch": True})
    with pytest.raises(ValueError, match=r"must be one of \['event', 'dense'\]"):
        split_options("cim", {"mode": "sparse"})


def test_a_listed_setting_gives_one_labelled_run_per_value():
    runs = expand_runs(
        ("analytic", "gpu"),
        {"analytic": "horowitz-45nm-fp32", "gpu": "h200"},
        {"gpu": {"batch": [1, 64], "dtype": "fp16"}},
    )
    assert [r.name for r in runs] == ["analytic", "gpu batch=1", "gpu batch=64"]
    assert runs[2].settings == {"batch": 64, "dtype": "fp16"} and runs[2].slug == "gpu-batch64"
    with pytest.raises(ValueError, match="not among"):
        expand_runs(("analytic",), {"analytic": "horowitz-45nm-fp32"}, {"gpu": {"batch": 1}})
    with pytest.raises(ValueError, match="only one setting"):
        expand_runs(("gpu",), {"gpu": "h200"}, {"gpu": {"batch": [1, 2], "dtype": ["a", "b"]}})


def test_only_the_measured_gpu_setting_is_calibrated():
    assert HardwareRun("gpu", "h200").calibrated is True
    assert HardwareRun("gpu", "h200", {"implementation": "tuned"}).calibrated is False
    assert HardwareRun("gpu", "h200", {"dtype": "fp32"}).calibrated is True
    assert HardwareRun("gpu", "h200", {"dtype": "int8"}).calibrated is False
    assert HardwareRun("gpu", "orin").calibrated is False
    assert HardwareRun("analytic", "horowitz-45nm-fp32").calibrated is None
