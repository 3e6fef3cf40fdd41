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


def test_chip_accuracy_end_to_end_on_the_embedded_sample(tmp_path):
    import pandas as pd

    from analyses.chip_accuracy import main

    out = tmp_path / "chip"
    argv = ["--dataset", "cifar10-sample", "--images", "6", "--energy-images", "2"]
    argv += ["--calibration-images", "8", "--adc-bits", "3", "8", "--variation", "0"]
    argv += ["--dtypes", "fp32", "bf16", "--variants", "channel", "--out", str(out)]
    assert main(argv) == 0
    table = pd.read_csv(out / "chip_accuracy.csv")
    cim = table[table.hardware == "cim"].set_index("adc_bits")
    assert sorted(cim.index) == [3, 8] and (table.images == 6).all()
    # one ADC bit more doubles the ADC's energy (the scaling the analysis states), never less
    assert cim.loc[8, "energy_uj"] > cim.loc[3, "energy_uj"]
    gpu = table[table.hardware == "gpu"]
    assert set(gpu.dtype) == {"fp32", "bf16"} and (gpu.energy_uj > 0).all()
