"""Evaluation of a network on a dataset (float32, the network as stored), and the check that a
dataset fits the network before any batch reaches it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from rshw.errors import OptionError
from rshw.training import distributed
from rshw.training.device import to_device


def check_fits(model: nn.Module, dataset, what: str) -> None:
    """Refuse a dataset whose images or classes differ from what ``model`` (from ``what``, e.g.
    a checkpoint path) was built for, before any batch reaches it."""
    config = getattr(model, "config", {})
    want = {k: config.get(k) for k in ("in_channels", "input_size", "num_classes")}
    have = {
        "in_channels": dataset.in_channels,
        "input_size": tuple(dataset.input_size),
        "num_classes": dataset.num_classes,
    }
    if isinstance(want["input_size"], int):
        want["input_size"] = (want["input_size"],) * 2
    elif want["input_size"] is not None:
        want["input_size"] = tuple(want["input_size"])
    diffs = [f"{k} {have[k]} (model {want[k]})" for k in have if want[k] not in (None, have[k])]
    if diffs:
        raise OptionError(
            f"{dataset.name!r} does not fit {what}: {', '.join(diffs)}; pass the dataset it was "
            "trained on"
        )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader,
    device: torch.device,
    desc: str = "eval",
    samples: int | None = None,
    quiet: bool = False,
) -> dict[str, float]:
    """Mean cross-entropy and accuracy (%) of ``model`` over ``loader``, or over its first
    ``samples`` samples (a distributed share without its wrap-around padding). With an active
    process group the sums span every process's share."""
    model.eval()
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.long)
    count = 0
    for x, y in tqdm(loader, desc=desc, leave=False, dynamic_ncols=True, disable=quiet):
        keep = len(y) if samples is None else min(len(y), samples - count)
        if keep <= 0:
            break
        x, y = to_device(x, y, device)
        logits = model(x)[:keep]
        loss_sum += F.cross_entropy(logits.float(), y[:keep], reduction="sum")
        correct += (logits.argmax(1) == y[:keep]).sum()
        count += keep
    totals = distributed.sum_over_processes(
        torch.stack([loss_sum, correct.double(), torch.tensor(float(count), device=device)])
    )
    loss_total, correct_total, count_total = totals.tolist()
    return {"loss": loss_total / count_total, "acc": 100.0 * correct_total / count_total}
