"""`rshw simulate` end to end on a tiny model, its cache, and bad options."""

import json

import numpy as np
import pandas as pd
import pytest

from rshw.cli import main
from rshw.training.checkpoint import read_metadata

BASE = ["simulate", "--model", "scnn", "--hw", "analytic", "--images", "3", "-T", "2"]


def run(tmp_path, *extra, out="run"):
    return main([*BASE, "--out", str(tmp_path / out), *extra])


def test_simulate_writes_report_figures_and_manifest(tmp_path, capsys):
    assert run(tmp_path) == 0
    printed = capsys.readouterr().out
    assert "UNTRAINED" in printed and "verified" in printed
    folder = tmp_path / "run"
    for name in (
        "summary.csv",
        "report-analytic.csv",
        "report-analytic.json",
        "manifest.json",
        "energy_breakdown.pdf",
        "firing_rates.png",
        "ops_per_layer.pdf",
    ):
        assert (folder / name).is_file(), name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["weights"] == "untrained"
    assert manifest["verification"]["verified"] and manifest["verification"]["spikes_compared"]
    assert manifest["versions"]["torch"] and "trace_s" in manifest["timings_s"]
    summary = pd.read_csv(folder / "summary.csv")
    assert summary.weights.tolist() == ["untrained"] and summary.energy_uj.iloc[0] > 0
    assert set(pd.read_csv(folder / "report-analytic.csv").weights) == {"untrained"}


def test_cache_is_reused_and_invalidated(tmp_path, capsys):
    assert run(tmp_path) == 0
    assert run(tmp_path) == 0
    assert "graph, trace and verification: cached" in capsys.readouterr().out
    summary = pd.read_csv(tmp_path / "run" / "summary.csv")
    assert summary.cached.tolist() == [True]
    assert run(tmp_path, "--force") == 0
    assert not pd.read_csv(tmp_path / "run" / "summary.csv").cached.iloc[0]
    # a changed preset file is a new report
    from simulators.analytic.model import PRESETS

    preset = tmp_path / "custom.toml"
    preset.write_text(
        (PRESETS / "horowitz-45nm-fp32.toml")
        .read_text()
        .replace("value = 0.9, unit", "value = 0.5, unit", 1)
    )
    assert run(tmp_path, "--analytic-preset", str(preset), out="custom") == 0
    custom = pd.read_csv(tmp_path / "custom" / "summary.csv")
    assert not custom.cached.iloc[0] and custom.energy_uj.iloc[0] < summary.energy_uj.iloc[0]
    # another variant is another trace
    capsys.readouterr()
    assert run(tmp_path, "--variant", "element", out="element") == 0
    assert "graph, trace and verification: cached" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "alexnet"], "known models: resnet18, resnet19"),
        (["--analytic-preset", "tsmc-3nm"], "presets: horowitz-45nm-fp32"),
        (["--hw", "analytic,fpga"], "choose from analytic, cim, gpu"),
        (["--images", "0"], "images must be >= 1"),
    ],
)
def test_bad_options_list_the_valid_ones(tmp_path, capsys, extra, message):
    assert run(tmp_path, *extra) == 2
    assert message in capsys.readouterr().err


def test_unknown_variant_is_rejected_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(tmp_path, "--variant", "pixel")
    assert "invalid choice: 'pixel'" in capsys.readouterr().err


def test_simulating_an_imported_nir_graph(tmp_path, capsys):
    from rshw.models import create_model
    from rshw.pipeline.reparam import reparameterize
    from rshw.training.calibrate import randomize_for_checks
    from simulators.nir_io import write_nir

    model = randomize_for_checks(create_model("scnn", in_channels=3, input_size=32, timesteps=2))
    path = write_nir(reparameterize(model, np.float64), tmp_path / "net.nir")
    assert run(tmp_path, "--model", str(path), out="nir") == 0
    manifest = json.loads((tmp_path / "nir" / "manifest.json").read_text())
    assert manifest["weights"] == "imported (NIR)"
    assert manifest["verification"]["verified"] is False
    assert pd.read_csv(tmp_path / "nir" / "summary.csv").variant.tolist() == ["imported"]


def test_simulate_dt_reaches_the_nir_import(tmp_path, capsys):
    """The file records dt = 1e-3 s, so tau_m = 1e-3 / (1 - 0.25) s; a step of 1 s is longer
    than that and the error says how to set dt; --dt on a zoo model is refused."""
    from rshw.models import create_model
    from rshw.pipeline.reparam import reparameterize
    from rshw.training.calibrate import randomize_for_checks
    from simulators.nir_io import write_nir

    model = randomize_for_checks(create_model("scnn", in_channels=3, input_size=32, timesteps=2))
    path = write_nir(reparameterize(model, np.float64), tmp_path / "net.nir", dt=1e-3)
    capsys.readouterr()
    assert run(tmp_path, "--model", str(path), "--dt", "1", out="nir") == 2
    error = capsys.readouterr().err
    assert "dt = 1.0 s" in error and "--dt" in error
    assert run(tmp_path, "--dt", "1e-3") == 2
    assert "--dt applies to .nir models only" in capsys.readouterr().err


def test_hardware_options_reach_the_models(tmp_path, capsys):
    assert (
        run(
            tmp_path,
            "--hw",
            "analytic,gpu",
            "--hw-option",
            "gpu.batch=4",
            "--hw-option",
            "analytic.weight_bits=8",
            out="opts",
        )
        == 0
    )
    manifest = json.loads((tmp_path / "opts" / "manifest.json").read_text())
    assert manifest["reports"]["gpu"]["summary"]["batch"] == 4
    assert manifest["reports"]["analytic"]["config"]["energy_table"]["weight_bits"] == 8
    assert run(tmp_path, "--hw", "gpu", "--hw-option", "gpu.batchsize=4", out="bad") == 2
    assert "or a simulate option: batch, dtype" in capsys.readouterr().err


def test_a_shipped_checkpoint_is_used_and_labelled_trained(
    tmp_path, capsys, monkeypatch, train_on_sample
):
    import rshw.pipeline.prepare

    monkeypatch.setattr(rshw.pipeline.prepare, "SHIPPED", tmp_path / "shipped")
    assert train_on_sample(tmp_path / "t") == 0
    assert main(["ship", str(tmp_path / "t" / "best")]) == 0
    assert (tmp_path / "shipped" / "scnn-cifar10-channel.safetensors").is_file()
    shipped = read_metadata(tmp_path / "shipped" / "scnn-cifar10-channel")
    assert 0 <= shipped["test_acc_shipped"] <= 100 and shipped["weights_dtype"] == "float16"
    capsys.readouterr()
    assert run(tmp_path, out="trained") == 0
    assert "UNTRAINED" not in capsys.readouterr().out
    manifest = json.loads((tmp_path / "trained" / "manifest.json").read_text())
    assert manifest["weights"] == "trained" and manifest["verification"]["verified"]
    assert manifest["graph"]["meta"]["source"]["checkpoint"].endswith("scnn-cifar10-channel")
