"""chip_accuracy: the accuracy-energy Pareto front and the analysis end to end."""

import pandas as pd

from analyses.chip_accuracy import mark_pareto


def test_pareto_front_of_energy_against_accuracy_per_hardware_kind():
    table = pd.DataFrame(
        {
            "hardware": ["cim", "cim", "cim", "cim", "gpu"],
            "energy_uj": [1.0, 2.0, 3.0, 2.5, 100.0],
            "accuracy": [0.5, 0.9, 0.95, 0.8, 0.1],
        }
    )
    # 2.5 µJ at 0.8 is beaten by 2.0 µJ at 0.9; the lone GPU point is its kind's front
    assert list(mark_pareto(table).pareto) == [True, True, True, False, True]


def test_bits_needed_is_the_fewest_bits_within_one_point_of_the_ideal():
    from analyses.chip_accuracy import bits_needed

    rows = [
        # accuracy by bits: 3 is 2 points short, 4 is 0.5 short (within), 5 is above
        (3, 0.97),
        (4, 0.985),
        (5, 0.99),
    ]
    table = pd.DataFrame(
        [
            {
                "hardware": "cim",
                "variant": "channel",
                "policy": "calibrated/offset/0",
                "variation_sigma": 0.0,
                "adc_bits": b,
                "accuracy": a,
                "accuracy_ci_low": a - 0.01,
                "accuracy_ci_high": a + 0.01,
                "ideal_accuracy": 0.99,
                "energy_uj": float(b),
            }
            for b, a in rows
        ]
        + [
            {
                "hardware": "cim",
                "variant": "channel",
                "policy": "fixed/offset/0",
                "variation_sigma": 0.0,
                "adc_bits": 8,
                "accuracy": 0.5,
                "accuracy_ci_low": 0.45,
                "accuracy_ci_high": 0.55,
                "ideal_accuracy": 0.99,
                "energy_uj": 8.0,
            }
        ]
    )
    needed = bits_needed(table).set_index("policy")
    assert needed.loc["calibrated/offset/0", "bits_needed"] == 4
    assert needed.loc["calibrated/offset/0", "accuracy_ci_low"] == 0.975
    assert pd.isna(needed.loc["fixed/offset/0", "bits_needed"])  # 8 bits tried, none enough


def test_chip_accuracy_end_to_end_on_the_embedded_sample(tmp_path):
    import json

    from analyses.chip_accuracy import main

    out = tmp_path / "chip"
    argv = ["--dataset", "cifar10-sample", "--images", "6", "--energy-images", "2"]
    argv += ["--calibration-images", "8", "--adc-bits", "3", "8", "--variation", "0"]
    argv += ["--policies", "calibrated/offset/0", "fixed/differential/32"]
    argv += ["--dtypes", "fp32", "bf16", "--variants", "channel", "--out", str(out)]
    assert main(argv) == 0
    table = pd.read_csv(out / "chip_accuracy.csv")
    cim = table[table.hardware == "cim"]
    assert set(cim.policy) == {"calibrated/offset/0", "fixed/differential/32"}
    for _, g in cim.groupby("policy"):
        g = g.set_index("adc_bits")
        assert sorted(g.index) == [3, 8] and (table.images == 6).all()
        # one ADC bit more doubles the ADC's energy (the scaling the analysis states), never less
        assert g.loc[8, "energy_uj"] > g.loc[3, "energy_uj"]
    # a differential pair doubles the columns: more cells, more area than offset cells
    area = cim.groupby("policy").area_mm2.first()
    assert area["fixed/differential/32"] > area["calibrated/offset/0"]
    fixed = cim[cim.adc_range == "fixed"]
    assert (fixed.clip_fraction == 0).all()  # the worst-case range never clips
    gpu = table[table.hardware == "gpu"]
    assert set(gpu.dtype) == {"fp32", "bf16"} and (gpu.energy_uj > 0).all()
    manifest = json.loads((out / "manifest.json").read_text())
    calibration = manifest["calibration"]["channel"]
    assert calibration["split"] == "train" and len(calibration["sha256"]) == 64
    calibrated = [k for k in calibration["adc_ranges"] if "|calibrated/" in k]
    assert calibrated and all(calibration["adc_ranges"][k] for k in calibrated)
    assert (out / "bits_needed.md").exists() and (out / "chip_accuracy.png").exists()


def test_the_figure_labels_three_ticks_per_log_axis_and_a_front_per_panel(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analyses import chip_accuracy_figure

    figures = []
    monkey_save = chip_accuracy_figure.figures.save
    chip_accuracy_figure.figures.save = lambda fig, path: figures.append(fig) or []
    try:
        rows = []
        for sigma in (0.0, 0.1):
            for policy, joules in (("fixed/offset/0", 5.0), ("calibrated/offset/0", 6.0)):
                for bits in (3, 5, 8):
                    for variant, factor in (("channel", 1.0), ("element", 1.4)):
                        acc = 0.5 + 0.05 * bits - sigma
                        rows.append(
                            {
                                "hardware": "cim",
                                "preset": "p",
                                "variant": variant,
                                "policy": policy,
                                "variation_sigma": sigma,
                                "adc_bits": bits,
                                "energy_uj": joules * factor * 2 ** (bits / 8),
                                "accuracy": acc,
                                "accuracy_ci_low": acc - 0.02,
                                "accuracy_ci_high": acc + 0.02,
                                "ideal_accuracy": 0.99,
                            }
                        )
        for dtype, uj in (("fp32", 850.0), ("bf16", 650.0), ("fp16", 650.0), ("int8", 540.0)):
            rows.append(
                {
                    "hardware": "gpu",
                    "preset": "h200",
                    "variant": "channel",
                    "dtype": dtype,
                    "energy_uj": uj,
                    "accuracy": 0.99,
                    "accuracy_ci_low": 0.98,
                    "accuracy_ci_high": 0.995,
                    "ideal_accuracy": 0.99,
                }
            )
        chip_accuracy_figure.figure(pd.DataFrame(rows), tmp_path)
    finally:
        chip_accuracy_figure.figures.save = monkey_save
    (fig,) = figures
    fig.canvas.draw()
    energy_panels = [ax for ax in fig.axes if ax.get_xscale() == "log"]
    assert len(energy_panels) == 3  # σ = 0, σ = 0.1, GPU
    for ax in energy_panels:
        low, high = ax.get_xlim()
        shown = [
            t.get_text()
            for t in ax.get_xticklabels()
            if t.get_text() and low <= t.get_position()[0] <= high
        ]
        assert len(shown) >= 3, shown
        assert any(line.get_label() == "Pareto front" for line in ax.get_lines())
        assert not ax.texts  # no label at a data point, so none can overprint another
    plt.close(fig)
