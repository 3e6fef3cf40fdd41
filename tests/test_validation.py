"""Honest model selection: a seeded validation split chooses ``best``; the test split is
evaluated once, on that checkpoint. And the training step's precision."""

import csv

import numpy as np
import pytest
import torch
from test_train import _sample_config

import rshw.training.train as train_module
from rshw.data import load_dataset
from rshw.data.dataset import default_validation_size
from rshw.models import create_model
from rshw.training import checkpoint as ckpt
from rshw.training.train import train, train_step


def _numbered(n: int):
    """A dataset whose every image carries its own index in its first pixel."""
    ds = load_dataset("cifar10-sample", split="train")
    ds.x[:n, 0, 0, 0] = np.arange(n) % 256
    ds.x[:n, 0, 0, 1] = np.arange(n) // 256
    return ds


def _ids(ds) -> set[int]:
    return set((ds.x[:, 0, 0, 0].astype(int) + 256 * ds.x[:, 0, 0, 1].astype(int)).tolist())


def test_validation_split_is_a_seeded_partition_of_the_training_split():
    ds = _numbered(400)
    rest, val = ds.split_validation(40, seed=3)
    assert len(rest) == 360 and len(val) == 40 and val.split == "val"
    assert _ids(rest) | _ids(val) == set(range(400)) and not _ids(rest) & _ids(val)
    again_rest, again_val = ds.split_validation(40, seed=3)
    assert _ids(again_val) == _ids(val) and _ids(again_rest) == _ids(rest)
    assert _ids(ds.split_validation(40, seed=4)[1]) != _ids(val)
    # not the first 40 of a class-sorted split
    assert _ids(val) != set(range(40))


@pytest.mark.parametrize("n", [0, 400, 401])
def test_validation_split_refuses_impossible_sizes(n):
    with pytest.raises(ValueError, match="validation split"):
        _numbered(400).split_validation(n)


def test_default_validation_size():
    assert default_validation_size(50_000) == 5000  # CIFAR
    assert default_validation_size(60_000) == 5000  # MNIST
    assert default_validation_size(1000) == 100  # the N-MNIST subset: 10 %
    assert default_validation_size(5) == 1


def test_best_is_chosen_by_validation_and_tested_once(tmp_path, monkeypatch):
    evaluated = []
    real_evaluate = train_module.evaluate

    def record(model, loader, device, desc="eval", samples=None, quiet=False):
        evaluated.append((desc, samples))
        return real_evaluate(model, loader, device, desc, samples, quiet)

    monkeypatch.setattr(train_module, "evaluate", record)
    result = train(_sample_config(tmp_path, epochs=3, val_size=40), quiet=True)
    # three validation passes over the 40 held-out images, one test pass over all 100 images
    assert evaluated == [("val", 40), ("val", 40), ("val", 40), ("test", 100)]
    with open(tmp_path / "run" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert not any("test" in column for column in rows[0])  # the test split stays unseen
    val = [float(r["val_acc"]) for r in rows]
    best = ckpt.read_metadata(tmp_path / "run" / "best")
    first_best_epoch = val.index(max(val)) + 1
    assert best["epoch"] == first_best_epoch and best["val_acc"] == max(val)
    assert best["test_acc"] == result["test_acc"] and best["test_samples"] == 100
    assert best["validation"] == {"samples": 40, "seed": 0, "held_out_of": "train"}
    assert best["train_samples"] == 360
    # a finished run, run again, evaluates nothing more
    evaluated.clear()
    again = train(_sample_config(tmp_path, epochs=3, val_size=40), quiet=True)
    assert evaluated == [] and again["test_acc"] == result["test_acc"]


def test_eval_reports_the_validation_split_the_checkpoint_was_chosen_by(tmp_path, capsys):
    import json

    from rshw.cli import main

    train(_sample_config(tmp_path, epochs=1, val_size=40), quiet=True)
    best = tmp_path / "run" / "best"
    assert main(["eval", str(best), "--split", "val", "--device", "cpu"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["samples"] == 40 and printed["split"] == "val"
    assert printed["acc"] == pytest.approx(ckpt.read_metadata(best)["val_acc"], abs=0.01)


@pytest.mark.parametrize(
    ("precision", "dtype"), [("fp32", torch.float32), ("bf16", torch.bfloat16)]
)
def test_the_training_step_runs_in_the_chosen_precision(precision, dtype):
    torch.manual_seed(0)
    model = create_model(
        "scnn", realspike="channel", timesteps=2, in_channels=3, input_size=(32, 32)
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    _, logits = train_step(model, optimizer, x, y, precision)
    assert logits.dtype == dtype


def test_unknown_precision_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        _sample_config(tmp_path, precision="fp8")
