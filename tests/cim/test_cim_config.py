import dataclasses

import pytest
import tomllib

from simulators.cim import PRESETS, CimConfig, load_config, preset_names
from simulators.cim.config import resolve
from simulators.config import ConfigError

SPIKESIM_QUOTED = {
    "crossbar_rows": 64,
    "crossbar_columns": 64,
    "crossbars_per_pe": 9,
    "pes_per_tile": 8,
    "clock_mhz": 250,
    "crossbar_read_pj": 1.76423,
    "adc_pj": 2.03084,
    "mux_pj": 0.094245,
    "htree_pj": 157.12,
    "tile_buffer_pj": 397,
    "input_fetch_pj": 4.64,
    "neuron_pj": 5.096,
    "temp_buffer_pj": 0.2,
    "subtractor_pj_per_bit": 1.15e-6,
    "crossbar_area_um2": 26.2144,
    "adc_area_um2": 693.633,
    "mux_area_um2": 45.9,
    "subtractor_area_um2": 13411.41498,
    "subtractors_per_tile": 8,
    "temp_buffer_area_um2": 484.643999,
    "buffer_bit_area_um2": 0.7391,
    "tile_buffer_bits": 8192,
    "htree_area_um2": 433660,
    "membrane_bits": 22,
    "input_buffer_bits": 22,
}


def test_presets_load_with_a_source_for_every_key():
    assert {"spikesim-rram-65nm", "neurosim-rram-22nm", "neurosim-sram-22nm"} <= set(preset_names())
    for name in preset_names():
        config, sources = resolve(name)
        assert config.name == name
        keys = {f.name for f in dataclasses.fields(CimConfig)} - {"name", "duplication", "mode"}
        assert keys <= set(sources), keys - set(sources)
        assert all(sources[k]["source"] for k in keys), [
            k for k in keys if not sources[k]["source"]
        ]


def test_spikesim_preset_holds_the_released_constants():
    config = load_config("spikesim-rram-65nm")
    for key, value in SPIKESIM_QUOTED.items():
        assert getattr(config, key) == value, key
    pe_cycle = config.columns_per_adc * (config.crossbar_read_cycles + config.adc_cycles)
    assert pe_cycle + config.pe_overhead_cycles == 26
    assert (config.mapping, config.pe_accumulation, config.placement) == (
        "kernel-split",
        "analog",
        "packed",
    )


def test_neurosim_presets_follow_neurosim_defaults():
    for name, bits in (("neurosim-rram-22nm", 2), ("neurosim-sram-22nm", 1)):
        c = load_config(name)
        assert (c.crossbar_rows, c.crossbar_columns, c.adc_bits, c.columns_per_adc) == (
            128,
            128,
            5,
            8,
        )
        assert (c.clock_mhz, c.bits_per_cell, c.weight_bits, c.slices) == (1000, bits, 8, 8 // bits)


def test_overrides_paths_and_dataclasses(tmp_path):
    config = load_config("spikesim-rram-65nm", {"chips": 4, "mode": "dense"})
    assert (config.chips, config.mode) == (4, "dense")
    path = tmp_path / "mine.toml"
    path.write_text((PRESETS / "spikesim-rram-65nm.toml").read_text())
    assert load_config(path) == load_config("spikesim-rram-65nm")
    again, sources = resolve(config, mode="event")
    assert again.mode == "event" and again.chips == 4
    # every value keeps its source: both overrides say so, the rest name the preset's
    preset = tomllib.loads((PRESETS / "spikesim-rram-65nm.toml").read_text())
    assert sources["mode"]["source"].startswith("override")
    assert sources["chips"]["source"].startswith("override")
    assert sources["clock_mhz"]["source"] == preset["clock_mhz"]["source"] != ""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("adc_energy = 1.0", "unknown key 'adc_energy'; allowed keys: name, clock_mhz"),
        (
            'mapping = {value = "toeplitz", unit = "", source = "x"}',
            "key 'mapping': must be one of 'kernel-split', 'im2col'",
        ),
        (
            'interconnect = {value = "torus", unit = "", source = "x"}',
            "key 'interconnect': must be one of 'htree', 'mesh'",
        ),
        ('mode = "sparse"', "key 'mode': must be one of 'event', 'dense'"),
        (
            'crossbar_rows = {value = 0, unit = "count", source = "x"}',
            "key 'crossbar_rows': must be an integer >= 1",
        ),
        (
            'crossbar_rows = {value = 64.5, unit = "count", source = "x"}',
            "key 'crossbar_rows': must be an integer >= 1",
        ),
        (
            'adc_pj = {value = -2, unit = "pJ", source = "x"}',
            "key 'adc_pj': must be a number >= 0",
        ),
        (
            'adc_pj = {value = 2, unit = "nJ", source = "x"}',
            "key 'adc_pj' must be given in 'pJ', not 'nJ'",
        ),
        (
            'columns_per_adc = {value = 7, unit = "count", source = "x"}',
            "key 'columns_per_adc': must be a divisor of crossbar_columns",
        ),
        (
            'weight_bits = {value = 300, unit = "bit", source = "x"}',
            "key 'weight_bits': must be small enough",
        ),
        (
            'idle_position_cycles = {value = 99, unit = "cycle", source = "x"}',
            "key 'idle_position_cycles': must be at most the shortest PE-cycle",
        ),
    ],
)
def test_malformed_configs_name_the_key_and_the_allowed_values(tmp_path, line, message):
    key = line.split(" = ")[0]
    base = [
        row
        for row in (PRESETS / "spikesim-rram-65nm.toml").read_text().splitlines()
        if not row.startswith(f"{key} = ")
    ]
    bad = tmp_path / "bad.toml"
    bad.write_text("\n".join([*base, line]) + "\n")
    with pytest.raises(ConfigError, match=message):
        load_config(bad)


def test_bad_config_arguments_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'tpu'; presets: neurosim-rram-22nm"):
        load_config("tpu")
    short = tmp_path / "short.toml"
    rows = (PRESETS / "spikesim-rram-65nm.toml").read_text().splitlines()
    short.write_text("\n".join(r for r in rows if not r.startswith("adc_pj")) + "\n")
    with pytest.raises(ConfigError, match=r"missing key\(s\) \['adc_pj'\]"):
        load_config(short)
    with pytest.raises(ConfigError, match="config must be a CimConfig, a preset name"):
        resolve(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="key 'mode': must be one of 'event', 'dense'"):
        resolve("spikesim-rram-65nm", mode="sparse")
    with pytest.raises(ConfigError, match=r"override: unknown key\(s\) \['adc'\]"):
        resolve(load_config("spikesim-rram-65nm"), adc=3)


def test_adc_energy_and_area_are_quoted_at_the_reference_bits_and_double_per_bit():
    # neurosim-rram-22nm quotes 0.068 pJ (NeuroSim's 5-bit MLSA) and 225.42 µm² at 5 bits
    base = load_config("neurosim-rram-22nm")
    assert (base.adc_bits, base.adc_reference_bits) == (5, 5)
    assert base.adc_conversion_pj == 0.068 and base.adc_each_area_um2 == 225.42
    seven = load_config("neurosim-rram-22nm", {"adc_bits": 7})
    assert seven.adc_conversion_pj == pytest.approx(0.068 * 4)
    assert seven.adc_each_area_um2 == pytest.approx(225.42 * 4)
    assert dataclasses.replace(base, adc_bits=3).adc_conversion_pj == pytest.approx(0.068 / 4)
    # 0 (a preset without the key): the constants are quoted at adc_bits, nothing scales
    assert dataclasses.replace(base, adc_bits=7, adc_reference_bits=0).adc_conversion_pj == 0.068
    with pytest.raises(ConfigError, match="adc_reference_bits.*0: adc_pj and adc_area_um2"):
        load_config("neurosim-rram-22nm", {"adc_reference_bits": -1})
