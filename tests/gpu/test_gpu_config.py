import dataclasses
from pathlib import Path

import pytest

from simulators.config import ConfigError
from simulators.gpu import load_config, preset_names
from simulators.gpu.config import PRESETS, GpuConfig
from simulators.gpu.engine import simulate_ops
from simulators.gpu.kernels import Op

# dense tensor-core peaks from the datasheets (TFLOPS = 2 x MAC/s)
DATASHEET_BF16_TFLOPS = {"h200": 989.4, "h100-sxm": 989.4, "a100-sxm": 312.0, "orin": 42.6}


def test_presets_load_and_match_datasheet_peaks():
    assert preset_names() == ["a100-sxm", "h100-sxm", "h200", "orin"]
    for name in preset_names():
        config = load_config(name)
        spec = config.spec
        peak = 2 * spec.sm_count * spec.tensor_bf16_macs_per_cycle_per_sm * spec.clock_hz / 1e12
        assert peak == pytest.approx(DATASHEET_BF16_TFLOPS[name], rel=0.01)
        assert config.sources["dram_gb_s"]["source"]
        assert "fitted" in config.sources["tensor_efficiency"]["source"]
        assert 0 < config.fit.tensor_efficiency <= 1


def test_every_preset_value_has_a_source():
    for name in preset_names():
        config = load_config(name)
        for key, entry in config.sources.items():
            assert key == "name" or entry["source"], f"{name}: {key} has no source"


def test_config_by_path_by_object_and_overrides():
    by_path = load_config(PRESETS / "h200.toml")
    assert by_path == load_config("h200")
    assert load_config(by_path) is by_path
    changed = load_config(by_path, {"dram_gb_s": 1000.0, "op_overhead_us": 1.0})
    assert changed.spec.dram_gb_s == 1000.0 and changed.fit.op_overhead_us == 1.0
    assert load_config("h200", {"sm_count": 66}).spec.sm_count == 66


def _write(tmp_path: Path, replace: dict[str, str]) -> Path:
    lines = []
    for line in (PRESETS / "h200.toml").read_text().splitlines():
        key = line.split(" = ")[0]
        if key in replace:
            if replace[key]:
                lines.append(replace[key])
            continue
        lines.append(line)
    lines += [v for k, v in replace.items() if k.startswith("+")]
    path = tmp_path / "bad.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("replace", "key"),
    [
        ({"+extra": 'warp_size = {value = 32, unit = "count"}'}, "warp_size"),
        ({"sm_count": ""}, "sm_count"),
        ({"sm_count": 'sm_count = {value = 0, unit = "count"}'}, "sm_count"),
        ({"sm_count": 'sm_count = {value = 13.5, unit = "count"}'}, "sm_count"),
        ({"clock_mhz": 'clock_mhz = {value = 1.83, unit = "GHz"}'}, "clock_mhz"),
        ({"dram_gb_s": 'dram_gb_s = {value = -1, unit = "GB/s"}'}, "dram_gb_s"),
        ({"l2_mib": 'l2_mib = {value = "big", unit = "MiB"}'}, "l2_mib"),
        ({"static_w": 'static_w = {value = 900, unit = "W"}'}, "static_w"),
        ({"fitted": 'fitted = {value = "nowhere", unit = ""}'}, "fitted"),
        ({"mac_pj_bf16": 'mac_pj_bf16 = {unit = "pJ"}'}, "mac_pj_bf16"),
    ],
)
def test_malformed_presets_are_rejected_naming_the_key(tmp_path, replace, key):
    with pytest.raises(ConfigError, match=key):
        load_config(_write(tmp_path, replace))


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"tensor_efficiency": 1.5}, "tensor_efficiency"),
        ({"stream_efficiency": 0}, "stream_efficiency"),
        ({"launch_overhead_us": -3}, "launch_overhead_us"),
        ({"turbo": True}, "turbo"),
        ({"max_threads_per_sm": True}, "max_threads_per_sm"),
    ],
)
def test_bad_overrides_are_rejected_naming_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key):
        load_config("h200", overrides)
    with pytest.raises(ConfigError, match=key):
        load_config(load_config("h200"), overrides)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match="h100-sxm"):
        load_config("h300")


def test_config_is_frozen_and_serialisable():
    config = load_config("orin")
    assert isinstance(config, GpuConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.spec.sm_count = 1  # type: ignore[misc]
    assert config.as_dict()["spec"]["sm_count"] == 16


def test_a_preset_may_name_its_own_fit_file(tmp_path):
    lines = (PRESETS / "fitted" / "h200.toml").read_text().splitlines()
    fit = [
        'tensor_efficiency = {value = 0.5, unit = "fraction", source = "test"}'
        if line.startswith("tensor_efficiency =")
        else line
        for line in lines
    ]
    (tmp_path / "mine.toml").write_text("\n".join(fit) + "\n")
    path = _write(tmp_path, {"fitted": 'fitted = {value = "mine.toml", unit = ""}'})
    assert load_config(path).fit.tensor_efficiency == 0.5


def test_a_preset_may_give_its_own_host_overheads(tmp_path):
    """A preset's host costs, with their source, replace its fit's; a host-only op (no kernel)
    then takes exactly the preset's op overhead."""
    own = {
        "+op": 'op_overhead_us = {value = 4.0, unit = "us", source = "my host, measured"}',
        "+lib": 'library_overhead_us = {value = 9.0, unit = "us", source = "my host, measured"}',
        "+launch": 'launch_overhead_us = {value = 2.0, unit = "us", source = "my host, measured"}',
    }
    config = load_config(_write(tmp_path, own))
    assert (config.fit.op_overhead_us, config.fit.library_overhead_us) == (4.0, 9.0)
    assert config.fit.launch_overhead_us == 2.0
    assert config.sources["op_overhead_us"]["source"] == "my host, measured"
    empty = Op("x", "empty", "torch.empty", "op")
    assert simulate_ops([empty], config).elapsed == pytest.approx(4.0e-6 * config.spec.clock_hz)
    fit_host = load_config("h100-sxm")
    assert fit_host.fit.op_overhead_us == load_config("h200").fit.op_overhead_us
    assert "fitted by" in fit_host.sources["op_overhead_us"]["source"]
    with pytest.raises(ConfigError, match="op_overhead_us"):
        load_config(_write(tmp_path, {"+op": own["+op"].replace("4.0", "-1.0")}))


def test_every_preset_says_whether_its_host_was_measured():
    """Only the H200 host was timed (its fit); every other preset's host costs are labelled a
    projection, scaled from the fit by its own host_slowdown, and the label reaches the report."""
    assert load_config("h200").spec.host == "measured"
    fit = load_config("h200").fit
    for name in ("h100-sxm", "a100-sxm", "orin"):
        config = load_config(name)
        assert config.spec.host == "projection", name
        assert "projection" in config.sources["host_slowdown"]["source"], name
        ratio = config.spec.host_slowdown
        assert config.fit.op_overhead_us == pytest.approx(fit.op_overhead_us * ratio)
        assert config.fit.launch_overhead_us == pytest.approx(fit.launch_overhead_us * ratio)
    # the Orin's Arm Cortex-A78AE at 2.2 GHz against the DGX host's Xeon 8480C at 3.8 GHz
    assert load_config("orin").spec.host_slowdown == pytest.approx(3.8 / 2.2, rel=1e-3)
    # overriding a loaded config does not scale its host twice
    orin = load_config("orin")
    again = load_config(orin, {"sm_count": 16})
    assert again.fit.op_overhead_us == pytest.approx(orin.fit.op_overhead_us)
    with pytest.raises(ConfigError, match="host"):
        load_config("orin", {"host": "guessed"})
