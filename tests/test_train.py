import json

import pytest
import torch

from rshw.cli import main
from rshw.data import load_dataset, make_loader
from rshw.models import create_model
from rshw.training import checkpoint as ckpt
from rshw.training.config import TrainConfig
from rshw.training.evaluate import evaluate
from rshw.training.train import cosine_lr, train


def _sample_config(tmp_path, **kw):
    values = dict(
        model="scnn",
        dataset="cifar10-sample",
        realspike="channel",
        timesteps=2,
        epochs=2,
        batch_size=50,
        out=str(tmp_path / "run"),
        device="cpu",
    )
    values.update(kw)
    return TrainConfig(**values)


def test_cosine_schedule():
    assert cosine_lr(0.1, 0, 100) == pytest.approx(0.1)
    assert cosine_lr(0.1, 50, 100) == pytest.approx(0.05)
    assert cosine_lr(0.1, 100, 100) == pytest.approx(0.0)


def test_training_on_real_mnist_lowers_the_loss(tmp_path, shared_data):
    root = shared_data("mnist")
    cfg = TrainConfig(
        model="scnn",
        dataset="mnist",
        data=str(root),
        realspike="channel",
        timesteps=2,
        epochs=1,
        batch_size=64,
        train_limit=2048,
        out=str(tmp_path / "run"),
        device="cpu",
    )
    torch.manual_seed(cfg.seed)  # the same initial weights train() starts from
    untrained = create_model("scnn", realspike="channel", timesteps=2)
    test = make_loader(load_dataset("mnist", root, "test"), 500, shuffle=False, augment=False)
    before = evaluate(untrained, test, torch.device("cpu"))
    result = train(cfg, quiet=True)
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2
    # 32 AdamW steps on real digits: the test loss must fall well below the untrained one
    assert result["test_loss"] < 0.75 * before["loss"]
    assert result["test_acc"] > 50 > before["acc"] + 25


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path, monkeypatch):
    straight = train(_sample_config(tmp_path / "a"), quiet=True)
    cfg = _sample_config(tmp_path / "b")
    _train_one_epoch_then_stop(cfg, monkeypatch)
    resumed = train(cfg, quiet=True)
    assert resumed["test_acc"] == straight["test_acc"]
    a, _ = ckpt.load_checkpoint(tmp_path / "a" / "run" / "last")
    b, meta = ckpt.load_checkpoint(tmp_path / "b" / "run" / "last")
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(pa, pb), name
    assert meta["epoch"] == 2
    metrics = (tmp_path / "b" / "run" / "metrics.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in metrics] == ["epoch", "1", "2"]


def _train_one_epoch_then_stop(cfg: TrainConfig, monkeypatch) -> None:
    """Run the 2-epoch schedule but interrupt it right after the first epoch's checkpoint."""
    import rshw.training.train as train_module

    real_save = train_module.ckpt.save_checkpoint

    def save_then_interrupt(path, *args, **kwargs):
        stem = real_save(path, *args, **kwargs)
        if stem.name == "last":
            raise KeyboardInterrupt
        return stem

    with monkeypatch.context() as m:
        m.setattr(train_module.ckpt, "save_checkpoint", save_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            train(cfg, quiet=True)


def test_resume_refuses_other_settings(tmp_path):
    cfg = _sample_config(tmp_path, epochs=1)
    train(cfg, quiet=True)
    with pytest.raises(
        ckpt.CheckpointError, match="realspike: checkpoint 'channel', now 'element'"
    ):
        train(_sample_config(tmp_path, epochs=1, realspike="element"), quiet=True)
    result = train(
        _sample_config(tmp_path, epochs=1, realspike="element"), restart=True, quiet=True
    )
    assert result["epoch"] == 1


def test_cli_train_eval_info_list(tmp_path, capsys, train_on_sample):
    out = tmp_path / "cli"
    assert train_on_sample(out) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert trained["epoch"] == 1
    meta = ckpt.read_metadata(out / "best")
    assert meta["dataset"]["name"] == "cifar10-sample" and meta["train_config"]["timesteps"] == 2
    assert main(["eval", str(out / "last.safetensors"), "--device", "cpu"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["samples"] == 100
    assert evaluated["acc"] == pytest.approx(trained["test_acc"], abs=1e-6)
    assert main(["info", "resnet19"]) == 0
    assert "12697994" in capsys.readouterr().out
    assert main(["list"]) == 0
    assert "resnet19" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--model", "resnet50"], "known models: resnet18, resnet19"),
        (["train", "--dataset", "imagenet21k"], "cifar10"),
        (["eval", "no/such/checkpoint"], "does not exist"),
        (["info", "alexnet"], "known models"),
    ],
)
def test_cli_bad_input_gives_a_clear_error(argv, message, capsys, tmp_path):
    assert main([*argv, *(["--out", str(tmp_path)] if argv[0] == "train" else [])]) == 2
    assert message in capsys.readouterr().err
