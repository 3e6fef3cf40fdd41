"""analyses/accuracy.py: cells over seeds, the claim rule, and the cost of the folded network."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from analyses.accuracy import main, summarize
from rshw.data import load_dataset
from rshw.pipeline.reparam import reparameterize
from rshw.pipeline.trace import trace
from rshw.training.checkpoint import load_checkpoint
from simulators.per_image import activity_per_image


def _runs(accuracies: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for variant, values in accuracies.items():
        for seed, acc in enumerate(values):
            rows.append(
                {
                    "model": "scnn",
                    "dataset": "mnist",
                    "recipe": "epochs=2",
                    "variant": variant,
                    "seed": seed,
                    "test_acc": acc,
                    "val_acc": acc + 0.1,
                }
            )
    return pd.DataFrame(rows)


def test_cells_average_over_seeds_and_claim_only_with_three_seeds():
    cells = summarize(
        _runs(
            {
                "element": [99.0, 99.2],  # two seeds: no claim
                "none": [98.0, 98.2, 98.4],
                "channel": [99.0, 99.2, 99.4],  # Welch t = 6.1 at 2 dof: p = 0.026
                "layer": [98.2, 98.6, 98.0],  # overlaps vanilla's spread
            }
        )
    ).set_index("variant")
    assert list(cells.index) == ["none", "layer", "channel", "element"]  # granularity order
    assert cells.loc["none", "test_mean"] == pytest.approx(98.2)
    assert cells.loc["none", "test_std"] == pytest.approx(0.2)  # sample std of 98.0, 98.2, 98.4
    assert cells.loc["channel", "delta_vs_none"] == pytest.approx(1.0)
    assert cells.loc["channel", "val_mean"] == pytest.approx(99.3)
    assert cells.loc["channel", "claim"] == "beats vanilla"
    assert cells.loc["layer", "claim"] == "within seed spread"
    assert cells.loc["element", "claim"] == "no claim (n < 3)"
    assert cells.loc["element", "seeds"] == 2
    assert cells.loc["none", "claim"] == "baseline"


def test_the_claim_is_welchs_t_test_with_conservative_degrees_of_freedom():
    # three seeds each, std 1 in both cells: t = diff / sqrt(1/3 + 1/3), dof = min(n) - 1 = 2,
    # where Student's t has P(|T| <= t) = t / sqrt(t^2 + 2) in closed form
    def p_two_sided(diff: float) -> float:
        t = diff / math.sqrt(2 / 3)
        return 1 - t / math.sqrt(t * t + 2)

    cells = summarize(
        _runs({"none": [1.0, 2.0, 3.0], "layer": [5.0, 6.0, 7.0], "channel": [4.0, 5.0, 6.0]})
    ).set_index("variant")
    assert cells.loc["layer", "p_vs_none"] == pytest.approx(p_two_sided(4.0))  # 0.039
    assert cells.loc["channel", "p_vs_none"] == pytest.approx(p_two_sided(3.0))  # 0.067
    assert cells.loc["layer", "claim"] == "beats vanilla"
    # one std apart (5 - 1 > 2 + 1) but p = 0.067: not a claim
    assert cells.loc["channel", "claim"] == "within seed spread"
    assert math.isnan(cells.loc["none", "p_vs_none"])


def test_a_clearly_worse_granularity_is_below_vanilla():
    cells = summarize(_runs({"none": [99.0, 99.1, 99.2], "element": [97.0, 97.5, 97.2]}))
    assert cells.set_index("variant").loc["element", "claim"] == "below vanilla"


def test_accuracy_script_on_trained_checkpoints(tmp_path, train_on_sample):
    for name in ("a", "b"):
        assert train_on_sample(tmp_path / name) == 0
    out = tmp_path / "table"
    assert (
        main(
            [
                str(tmp_path / "a"),
                str(tmp_path / "b" / "best"),
                "--cost-images",
                "5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 2 and set(runs["variant"]) == {"channel"}
    # channel-wise folding keeps shared kernels: the torch model's conv and linear weights
    model, _ = load_checkpoint(tmp_path / "a" / "best")
    kernels = sum(
        m.weight.numel()
        for m in model.modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
    )
    assert (runs["weights_unshared"] == 0).all() and (runs["weights_shared"] == kernels).all()
    assert (runs["cost_images"] == 5).all()
    # no spike drives more synapses than scnn's widest fan-out, a 3x3 kernel into 128 channels
    assert (runs["sops_per_image"] > 0).all()
    assert (runs["sops_per_image"] <= 9 * 128 * runs["spikes_per_image"]).all()
    # per image, as the simulators' per-image table counts them on the same 5 images
    graph = reparameterize(model.eval(), np.float64)
    test = load_dataset("cifar10-sample", split="test", timesteps=2)
    activity, _ = trace(graph, test, 5, tmp_path / "act", dtype=np.float64, progress=False)
    per_image = activity_per_image(graph, activity)
    assert runs.loc[0, "sops_per_image"] == pytest.approx(per_image["sops"].mean(), rel=1e-12)
    cells = pd.read_csv(out / "accuracy.csv")
    assert len(cells) == 1 and cells.loc[0, "seeds"] == 1  # the same seed twice is one seed
    assert cells.loc[0, "claim"] == "baseline" or "no claim" in cells.loc[0, "claim"]
    assert math.isclose(cells.loc[0, "test_mean"], runs["test_acc"].mean())
    for suffix in ("md", "tex", "pdf", "png"):
        assert (out / f"accuracy.{suffix}").is_file()
