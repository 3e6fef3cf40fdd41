"""`rshw simulate` end to end on a tiny model, its cache, and bad options."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rshw.cli import main
from rshw.training.checkpoint import read_metadata

BASE = ["simulate", "--model", "scnn", "--hw", "analytic", "--images", "3", "-T", "2"]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    """These tests check what is cached: each starts from an empty cache of its own, whatever
    other tests of the session computed."""
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path_factory.mktemp("cache")))


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
    # accuracy beside energy: none from a checkpoint (untrained), the folded network's on the
    # 3 simulated images (a multiple of 100/3 %)
    row = summary.iloc[0]
    assert np.isnan(row.test_acc_pct) and row.images == 3
    assert row.traced_acc_pct == pytest.approx(manifest["accuracy_on_traced_pct"])
    assert round(row.traced_acc_pct * 3 / 100, 9) in (0, 1, 2, 3)
    assert "accuracy: checkpoint test set n/a (untrained)" in printed
    assert {"energy_uj_ci95", "sops_ci95", "firing_rate_ci95", "calibrated"} <= set(summary)
    # the summary's energy is the mean over the images of each image's energy, and the sum of the
    # report's rows (each a mean over images); its half-width is Student's t_{0.975, 2} s / √3
    per_image = pd.read_csv(folder / "report-analytic.per_image.csv").energy_pj.to_numpy() / 1e6
    rows = pd.read_csv(folder / "report-analytic.csv").energy_pj.sum() / 1e6
    assert row.energy_uj == pytest.approx(per_image.sum() / 3, rel=1e-12)
    assert row.energy_uj == pytest.approx(rows, rel=1e-9)
    t_975_2 = 0.95 * np.sqrt(2 / (4 * 0.975 * 0.025))  # Student t, 2 dof, closed form
    half = t_975_2 * np.sqrt(((per_image - per_image.mean()) ** 2).sum() / 2) / np.sqrt(3)
    assert row.energy_uj_ci95 == pytest.approx(half, rel=1e-9)


def test_cache_is_reused_and_invalidated(tmp_path, capsys):
    assert run(tmp_path) == 0
    assert run(tmp_path) == 0
    printed = capsys.readouterr().out
    assert all(f"{stage}: cached" in printed for stage in ("fold", "trace", "verify"))
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
    assert "cached" not in capsys.readouterr().out


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
    # every value keeps its source: the override says so, the others name the preset's source
    import tomllib

    from simulators.analytic.model import PRESETS

    preset = tomllib.loads((PRESETS / "horowitz-45nm-fp32.toml").read_text())
    sources = manifest["reports"]["analytic"]["config"]["sources"]
    assert sources["weight_bits"]["source"].startswith("override")
    assert sources["mac_pj"]["source"] == preset["mac_pj"]["source"] != ""
    assert run(tmp_path, "--hw", "gpu", "--hw-option", "gpu.batchsize=4", out="bad") == 2
    assert "run options of gpu: batch, dtype, execution, implementation" in capsys.readouterr().err


def test_the_gpu_runs_at_batch_1_and_64_labelled_with_its_calibration(tmp_path, capsys):
    assert run(tmp_path, "--hw", "gpu", out="gpu") == 0
    summary = pd.read_csv(tmp_path / "gpu" / "summary.csv")
    assert summary.hardware.tolist() == ["gpu batch=1", "gpu batch=64"]
    assert summary.calibrated.tolist() == [True, True]
    manifest = json.loads((tmp_path / "gpu" / "manifest.json").read_text())
    assert [manifest["reports"][h]["summary"]["batch"] for h in summary.hardware] == [1, 64]
    assert (tmp_path / "gpu" / "report-gpu-batch64.csv").is_file()
    capsys.readouterr()
    tuned = ["--hw", "gpu", "--hw-option", "gpu.implementation=tuned"]
    assert run(tmp_path, *tuned, "--gpu-preset", "orin", out="tuned") == 0
    assert "calibrated NO: a projection" in capsys.readouterr().out
    assert not pd.read_csv(tmp_path / "tuned" / "summary.csv").calibrated.any()


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
    # the accuracy of what is simulated: the shipped fp16 weights, evaluated when shipped
    recorded = shipped["test_acc_shipped"]
    summary = pd.read_csv(tmp_path / "trained" / "summary.csv")
    assert summary.test_acc_pct.tolist() == [pytest.approx(recorded)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hw", "analytic,cim", "--cim-preset", "nope"], "unknown cim preset 'nope'"),
        (["--hw", "gpu", "--hw-option", "gpu.dtype=fp8"], "gpu option dtype must be one of"),
        (["--hw", "gpu", "--hw-option", "gpu.batch=two"], "gpu option batch must be int"),
        (["--hw", "cim", "--hw-option", "cim.adc_bitz=4"], "adc_bitz"),
    ],
)
def test_an_invalid_preset_or_option_fails_before_any_folding(
    tmp_path, capsys, monkeypatch, extra, message
):
    monkeypatch.setenv("RSHW_CACHE", str(tmp_path / "cache"))
    assert run(tmp_path, *extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache" / "runs").exists()


def test_a_failed_run_leaves_nothing_and_a_rerun_replaces_the_folder(tmp_path, capsys, monkeypatch):
    import rshw.reporting.run_figures

    assert run(tmp_path, "--hw", "analytic,gpu") == 0
    assert (tmp_path / "run" / "report-gpu-batch1.csv").is_file()

    def broken(*args):  # a full disk while the figures are written: a one-line error, exit 2
        raise OSError(28, "No space left on device")

    working = rshw.reporting.run_figures.write_run_figures
    monkeypatch.setattr(rshw.reporting.run_figures, "write_run_figures", broken)
    assert run(tmp_path, "--hw", "analytic", out="failed") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no folder, no temporary
    monkeypatch.setattr(rshw.reporting.run_figures, "write_run_figures", working)
    assert run(tmp_path, "--hw", "analytic") == 0
    reports = sorted(p.name for p in (tmp_path / "run").glob("report-*"))
    assert reports == [
        "report-analytic.csv",
        "report-analytic.json",
        "report-analytic.per_image.csv",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_an_imported_graph_traced_at_T4_after_T2_is_traced_again(tmp_path, capsys):
    from rshw.models import create_model
    from rshw.pipeline.reparam import reparameterize
    from rshw.training.calibrate import randomize_for_checks
    from simulators.activity import Activity
    from simulators.nir_io import write_nir

    model = randomize_for_checks(create_model("scnn", in_channels=3, input_size=32, timesteps=2))
    path = write_nir(reparameterize(model, np.float64), tmp_path / "net.nir")
    assert run(tmp_path, "--model", str(path), out="t2") == 0
    capsys.readouterr()
    assert main([*BASE[:-2], "--model", str(path), "-T", "4", "--out", str(tmp_path / "t4")]) == 0
    assert "cached" not in capsys.readouterr().out
    manifest = json.loads((tmp_path / "t4" / "manifest.json").read_text())
    assert manifest["graph"]["meta"]["timesteps"] == 4
    assert Activity.load(manifest["activity"]["cache"]).timesteps == 4


def test_static_input_is_recorded_in_the_graph_and_keys_the_trace(tmp_path, capsys):
    assert run(tmp_path, out="once") == 0
    capsys.readouterr()
    assert run(tmp_path, "--static-input", "every-step", out="every") == 0
    assert "cached" not in capsys.readouterr().out
    for out, value in (("once", "once"), ("every", "every_step")):
        manifest = json.loads((tmp_path / out / "manifest.json").read_text())
        assert manifest["graph"]["meta"]["static_input"] == value
        assert pd.read_csv(tmp_path / out / "summary.csv").static_input.tolist() == [value]


def test_images_auto_stops_at_the_cap_and_says_so(tmp_path, capsys):
    assert (
        main(
            [
                *BASE[:-4],
                "--images",
                "auto",
                "--images-cap",
                "4",
                "-T",
                "2",
                "--out",
                str(tmp_path / "auto"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "--images auto: 4 images, stopped by the image cap (4)" in printed
    assert json.loads((tmp_path / "auto" / "manifest.json").read_text())["data"]["images"] == 4


def test_untrained_stand_ins_draw_their_realspike_a():
    from rshw.data import load_dataset
    from rshw.pipeline.prepare import prepare
    from rshw.training.realspike import realspike_parameters

    calibration = load_dataset("cifar10-sample", None, "train", timesteps=2)
    prep = prepare("scnn", "channel", calibration, timesteps=2, calibrate=16, say=lambda _: None)
    values = np.concatenate([a.detach().numpy().ravel() for a in realspike_parameters(prep.model)])
    assert values.min() >= 0.5 and values.max() < 1.5 and values.std() > 0.1
    assert prep.label == "untrained"


def _copy_packages(to: Path) -> Path:
    root = Path(__file__).resolve().parents[1]
    for package in ("rshw", "simulators"):
        shutil.copytree(root / package, to / package, ignore=shutil.ignore_patterns("__pycache__"))
    return to


def _simulate_in(pythonpath: Path, out: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "RSHW_CACHE": str(cache)}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "rshw", *BASE, "--images", "2", "--out", str(out)],
        cwd=pythonpath,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )


@pytest.mark.slow
def test_editing_any_source_file_of_a_copy_recomputes_everything(tmp_path):
    copy = _copy_packages(tmp_path / "copy")
    cache = tmp_path / "cache"
    first = _simulate_in(copy, tmp_path / "a", cache)
    assert "cached" not in first.stdout
    assert "cached" in _simulate_in(copy, tmp_path / "b", cache).stdout
    # a comment in a module no key used to name: a new code hash, nothing served from the cache
    lif = copy / "simulators" / "connectivity.py"
    lif.write_text(lif.read_text() + "\n# edited\n")
    second = _simulate_in(copy, tmp_path / "c", cache)
    assert "cached" not in second.stdout
    assert not pd.read_csv(tmp_path / "c" / "summary.csv").cached.any()
    # an energy in a named preset: the number moves (the SOP energy drops from 0.9 to 0.45 pJ)
    preset = copy / "simulators" / "analytic" / "presets" / "horowitz-45nm-fp32.toml"
    preset.write_text(preset.read_text().replace("value = 0.9, unit", "value = 0.45, unit", 1))
    third = _simulate_in(copy, tmp_path / "d", cache)
    assert "cached" not in third.stdout
    before = pd.read_csv(tmp_path / "c" / "summary.csv").energy_uj.iloc[0]
    after = pd.read_csv(tmp_path / "d" / "summary.csv").energy_uj.iloc[0]
    assert after < before


@pytest.mark.slow
def test_two_concurrent_runs_on_one_cache_both_succeed(tmp_path):
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "RSHW_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rshw",
                *BASE,
                "--hw",
                "analytic,cim",
                "--out",
                str(tmp_path / n),
            ],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in ("one", "two")
    ]
    results = [p.communicate(timeout=600) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], [err[-2000:] for _, err in results]
    one, two = (pd.read_csv(tmp_path / n / "summary.csv") for n in ("one", "two"))
    pd.testing.assert_series_equal(one.energy_uj, two.energy_uj)
    leftovers = [p.name for p in (tmp_path / "cache" / "runs").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_figure_titles_carry_both_accuracies():
    from types import SimpleNamespace

    from rshw.reporting.run_figures import heading
    from simulators.ir import Graph

    folded = SimpleNamespace(
        label="trained",
        graph=Graph({"source": {"test_acc": 91.234}}),
        record=SimpleNamespace(name="resnet19", variant="element"),
    )
    activity = SimpleNamespace(meta={"accuracy_on_traced_pct": 87.5}, samples=8)
    title = heading(folded, activity)
    assert title == "resnet19 element (trained, test acc. 91.23%, 87.5% on 8 images)"


def test_a_shipped_checkpoint_is_used_only_at_the_t_it_was_trained_with():
    from rshw.data import load_dataset
    from rshw.pipeline.prepare import prepare, shipped_checkpoint
    from rshw.training.checkpoint import read_metadata

    calibration = load_dataset("cifar10-sample", None, "train")
    stem = shipped_checkpoint("scnn", "channel", "cifar10-sample")
    assert stem is not None, "scnn-cifar10-channel ships with the package"
    trained_t = read_metadata(stem)["model"]["timesteps"]
    lines: list[str] = []
    prep = prepare("scnn", "channel", calibration, timesteps=trained_t, say=lines.append)
    assert prep.label == "trained" and not lines
    other = prepare(
        "scnn", "channel", calibration, timesteps=trained_t + 1, calibrate=8, say=lines.append
    )
    assert other.label == "untrained" and other.graph.meta["timesteps"] == trained_t + 1
    assert f"trained with T={trained_t}, not the T={trained_t + 1} asked for" in lines[0]
    assert f"pass -T {trained_t} to use it" in lines[0] and "UNTRAINED" in lines[1]
