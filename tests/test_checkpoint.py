import hashlib
import json

import pytest
import torch

from rshw.models import create_model
from rshw.training import checkpoint as ckpt


def _model(realspike="channel", seed=0):
    torch.manual_seed(seed)
    model = create_model("scnn", realspike=realspike, timesteps=2)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2)
    return model.eval()


def test_round_trip_restores_outputs_and_metadata(tmp_path):
    model = _model()
    stem = ckpt.save_checkpoint(tmp_path / "run" / "last", model, {"epoch": 3, "test_acc": 91.5})
    assert stem.with_suffix(".safetensors").is_file() and stem.with_suffix(".json").is_file()
    loaded, meta = ckpt.load_checkpoint(tmp_path / "run" / "last.json")  # any of the three names
    loaded.eval()
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert meta["epoch"] == 3 and meta["test_acc"] == 91.5
    assert meta["model"]["name"] == "scnn" and meta["model"]["realspike"] == "channel"
    assert meta["format_version"] == ckpt.FORMAT_VERSION and "created" in meta


def test_half_precision_storage(tmp_path):
    model = _model()
    ckpt.save_checkpoint(tmp_path / "half", model, {}, half=True)
    loaded, meta = ckpt.load_checkpoint(tmp_path / "half")
    assert meta["weights_dtype"] == "float16"
    w, w16 = model.encoder.conv.weight, loaded.encoder.conv.weight
    assert w16.dtype == torch.float32
    torch.testing.assert_close(w16, w.half().float())


def test_mismatched_model_names_the_difference(tmp_path):
    ckpt.save_checkpoint(tmp_path / "c", _model("channel"), {})
    with pytest.raises(
        ckpt.CheckpointError, match="realspike: checkpoint has 'channel', model has 'element'"
    ):
        ckpt.load_checkpoint(tmp_path / "c", create_model("scnn", realspike="element", timesteps=2))


def test_parameter_mismatch_is_reported(tmp_path):
    model = _model()
    ckpt.save_checkpoint(tmp_path / "c", model, {})
    other = create_model("scnn", realspike="channel", timesteps=2)
    del other.config  # a model without a config is checked by its parameters alone
    other.body[-1] = torch.nn.Linear(128 * 3 * 3, 5)
    with pytest.raises(ckpt.CheckpointError, match=r"body.6.weight: checkpoint shape \(10, 1152\)"):
        ckpt.load_checkpoint(tmp_path / "c", other)


def test_corrupted_weights_are_detected(tmp_path):
    stem = ckpt.save_checkpoint(tmp_path / "c", _model(), {})
    weights = stem.with_suffix(".safetensors")
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match="SHA-256 differs"):
        ckpt.load_checkpoint(stem)
    # with a checksum that matches a truncated file, the safetensors reader still refuses it
    weights.write_bytes(bytes(data[:100]))
    meta = json.loads(stem.with_suffix(".json").read_text())
    meta["weights_sha256"] = hashlib.sha256(bytes(data[:100])).hexdigest()
    stem.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ckpt.CheckpointError, match="not a readable safetensors file"):
        ckpt.load_checkpoint(stem)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="does not exist"):
        ckpt.load_checkpoint(tmp_path / "nothing")
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(ckpt.CheckpointError, match="not an rshw checkpoint"):
        ckpt.read_metadata(tmp_path / "x")
    (tmp_path / "y.json").write_text("{not json")
    with pytest.raises(ckpt.CheckpointError, match="not valid JSON"):
        ckpt.read_metadata(tmp_path / "y")


def test_optimizer_state_and_rng_round_trip(tmp_path):
    model = _model().train()
    for opt_cls in (torch.optim.SGD, torch.optim.AdamW):
        opt = opt_cls(
            model.parameters(), lr=0.01, **({"momentum": 0.9} if opt_cls is torch.optim.SGD else {})
        )
        model(torch.randn(2, 1, 28, 28)).sum().backward()
        opt.step()
        torch.manual_seed(123)
        ckpt.save_checkpoint(tmp_path / opt_cls.__name__, model, {}, optimizer=opt)
        expected_draw = torch.rand(3)
        fresh = opt_cls(model.parameters(), lr=0.5)
        ckpt.load_training_state(tmp_path / opt_cls.__name__, fresh)
        assert torch.equal(torch.rand(3), expected_draw)
        a, b = opt.state_dict(), fresh.state_dict()
        assert a["param_groups"] == b["param_groups"]
        for index, state in a["state"].items():
            for key, value in state.items():
                other = b["state"][index][key]
                assert torch.equal(value, other) if torch.is_tensor(value) else value == other
    with pytest.raises(ckpt.CheckpointError, match="holds no training state"):
        ckpt.save_checkpoint(tmp_path / "inference", model, {})
        ckpt.load_training_state(tmp_path / "inference", fresh)


def test_ship_copies_fp16_weights_metadata_and_log(tmp_path):
    model = _model()
    run = tmp_path / "run"
    ckpt.save_checkpoint(
        run / "best",
        model,
        {"epoch": 7, "test_acc": 93.1},
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
    )
    (run / "metrics.csv").write_text("epoch,test_acc\n7,93.1\n")
    stem = ckpt.ship_checkpoint(run / "best", tmp_path / "ship" / "scnn-channel")
    shipped, meta = ckpt.load_checkpoint(stem)
    assert meta["weights_dtype"] == "float16" and meta["test_acc"] == 93.1 and meta["epoch"] == 7
    assert meta["shipped_from"]["checkpoint"].endswith("best") and "train_state" not in meta
    assert (tmp_path / "ship" / "scnn-channel.metrics.csv").read_text().startswith("epoch")
    torch.testing.assert_close(
        shipped.encoder.conv.weight, model.encoder.conv.weight.half().float()
    )
