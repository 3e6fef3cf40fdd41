"""docs/errors.md stays true: its .pt conversion snippet runs and yields a checkpoint rshw loads."""

import ast
import re
from pathlib import Path

import torch

from rshw.models import create_model
from rshw.training.checkpoint import load_checkpoint

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def test_the_pt_conversion_snippet(tmp_path, monkeypatch):
    section = DOC.read_text().split("### A .pt checkpoint", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    steps = [s for s in ast.parse(snippet).body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    assert len(steps) == 3  # build the model, load the trusted file, save it our way
    torch.manual_seed(1)
    trained = create_model(
        "resnet19", realspike="channel", timesteps=4, num_classes=10, in_channels=3, input_size=32
    )
    monkeypatch.chdir(tmp_path)
    torch.save(trained.state_dict(), "model.pt")
    exec(snippet, {})
    model, meta = load_checkpoint(tmp_path / "converted" / "last")
    assert meta["dataset"] == {"name": "cifar10"} and meta["model"]["name"] == "resnet19"
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
