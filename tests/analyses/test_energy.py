"""`python -m analyses.energy`: every row carries its accuracy, calibration and interval."""

import pandas as pd

from analyses import energy, energy_figures


def test_energy_tables_label_gpu_batches_calibration_and_accuracy(tmp_path, capsys):
    out = tmp_path / "energy"
    argv = ["--model", "scnn", "--variants", "channel", "-T", "2", "--images", "3"]
    argv += ["--analytic", "horowitz-45nm-fp32", "--cim", "", "--gpu", "h200,orin"]
    assert energy.main([*argv, "--out", str(out)]) == 0
    table = pd.read_csv(out / "energy.csv")
    gpu = table[table.preset.isin(["h200", "orin"])]
    assert gpu.hardware.tolist() == ["gpu batch=1", "gpu batch=64"] * 2
    assert gpu.calibrated.tolist() == [True, True, False, False]  # only h200 was measured
    assert table.images.eq(3).all() and table.test_acc_pct.isna().all()  # untrained
    correct = round(table.traced_acc_pct.iloc[0] * 3 / 100, 9)
    assert correct in (0, 1, 2, 3)
    markdown = (out / "energy.md").read_text()
    assert "| NO |" in markdown and "NO = a projection" in markdown and " ± " in markdown
    assert "$\\pm$" in (out / "energy.tex").read_text()
    # no test accuracy: the label gives the folded network's on the 3 simulated images, k/3
    percent = {0: "0", 1: "33", 2: "67", 3: "100"}[int(correct)]
    label = energy_figures._label(table)
    assert label.startswith("scnn (") and f"accuracy channel {percent}% on 3 images)" in label
    # intervals, once a model gives them, become error bars
    table["energy_uj_ci95"] = table.energy_uj * 0.1
    assert energy_figures.energy_breakdown(table, tmp_path / "bars")
