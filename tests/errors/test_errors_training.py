"""Training mistakes are refused before any epoch, Ctrl-C says how to resume, and no epoch's
metrics row is lost to a crash between metrics.csv and the checkpoint."""

import csv
import shlex
import subprocess
from pathlib import Path

import pytest
import torch

import rshw.training.train as train_module
from rshw.errors import Interrupted, OptionError
from rshw.training.config import TrainConfig
from rshw.training.device import resolve_device

ROOT = Path(__file__).resolve().parents[2]


def _train_args(out, *extra):
    return (
        "train", "--model", "scnn", "--dataset", "cifar10-sample", "-T", "1", "--epochs", "2",
        "--batch-size", "50", "--train-limit", "100", "--quiet", "--device", "cpu",
        "--out", out, *extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("foo", "'foo' is not a device"),
        ("cuda:x", "'cuda:x' is not a device"),
        ("meta", "rshw runs on cpu or cuda"),
    ],
)
def test_devices_that_are_not_devices(device, message):
    with pytest.raises(OptionError, match=message):
        resolve_device(device)


def test_a_cuda_device_this_machine_lacks(cli, one_line, tmp_path):
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    wanted = f"cuda:{count}"  # one past the last device, or the first of none
    expected = "has no CUDA device" if count == 0 else f"has {count} CUDA device(s)"
    with pytest.raises(OptionError, match=expected):
        resolve_device(wanted)
    code, out, err = cli(*_train_args(tmp_path / "run")[:-2], "--device", wanted)
    assert code == 2 and out == "" and not (tmp_path / "run").exists()
    one_line(err, f"--device '{wanted}'", expected)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("tau=5", "tau=5: the leak factor must be a number in [0, 1]"),
        ("tau=-0.1", "tau=-0.1"),
        ('tau="x"', "tau='x'"),
        ("v_th=0", "v_th=0: the threshold must be a number > 0"),
        ("detach_reset=3", "detach_reset=3: use true or false"),
    ],
)
def test_model_options_folding_cannot_express_are_refused_before_training(
    option, message, cli, one_line, tmp_path, monkeypatch
):
    monkeypatch.setattr(train_module, "train_step", _never)
    code, out, err = cli(*_train_args(tmp_path / "run"), "--model-option", option)
    assert code == 2 and out == "" and not (tmp_path / "run").exists()
    one_line(err, "rshw train: error: model option", message)


def _never(*_):
    raise AssertionError("a training step ran")


def _interrupt_in_epoch(epoch: int, monkeypatch):
    """Ctrl-C at the first step of ``epoch`` (1-based)."""
    real_step, calls = train_module.train_step, []
    steps_per_epoch = 2  # 100 samples, batch 50

    def step(*args):
        calls.append(1)
        if len(calls) > (epoch - 1) * steps_per_epoch:
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(train_module, "train_step", step)


def test_ctrl_c_during_training_says_how_to_resume(cli, one_line, tmp_path, monkeypatch):
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        _interrupt_in_epoch(2, m)
        code, stdout, err = cli(*_train_args(out))
    assert code == 130 and stdout == ""
    line = one_line(err)
    assert line == (
        f"rshw train: interrupted after epoch 1; run the same command again to resume from "
        f"{out / 'last'}"
    )
    code, stdout, _ = cli(*_train_args(out))
    assert code == 0 and '"epoch": 2' in stdout


def test_ctrl_c_before_the_first_epoch_ended(tmp_path, monkeypatch):
    _interrupt_in_epoch(1, monkeypatch)
    cfg = TrainConfig(
        model="scnn", dataset="cifar10-sample", timesteps=1, epochs=1, batch_size=50,
        train_limit=100, out=str(tmp_path / "run"), device="cpu",
    )  # fmt: skip
    with pytest.raises(Interrupted, match="before the first epoch ended"):
        train_module.train(cfg, quiet=True)


def test_a_crash_between_metrics_and_checkpoint_loses_no_row(cli, tmp_path, monkeypatch):
    """The row is written before the checkpoint: a crash between the two redoes the epoch, and
    metrics.csv ends with one row per epoch."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        real_save = train_module.ckpt.save_checkpoint

        def crash_at_last_of_epoch_2(path, model, meta, *args, **kwargs):
            if Path(path).name == "last" and meta["epoch"] == 2:
                raise KeyboardInterrupt
            return real_save(path, model, meta, *args, **kwargs)

        m.setattr(train_module.ckpt, "save_checkpoint", crash_at_last_of_epoch_2)
        code, _, err = cli(*_train_args(out))
    assert code == 130 and "interrupted after epoch 1;" in err
    with open(out / "metrics.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]
    assert cli(*_train_args(out))[0] == 0  # resumes after epoch 1 and redoes epoch 2
    with open(out / "metrics.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]


def test_make_keeps_a_path_with_spaces_in_one_word(tmp_path):
    ckpt = tmp_path / "my runs" / "it's last"
    run = subprocess.run(
        ["make", "-n", "simulate", f"CKPT={ckpt}", "OUT=a b", "HW_OPTIONS=gpu.batch=64 cim.x=1",
         "STAMP=pyproject.toml"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    words = shlex.split(run.stdout.replace("\\\n", " "))
    assert words[words.index("--ckpt") + 1] == str(ckpt)
    assert words[words.index("--out") + 1] == "a b"
    assert [words[i + 1] for i, w in enumerate(words) if w == "--hw-option"] == [
        "gpu.batch=64",
        "cim.x=1",
    ]
