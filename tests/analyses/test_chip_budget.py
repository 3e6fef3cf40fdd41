"""`python -m analyses.chip_budget`: shared against unshared on CIM chips under a die budget."""

import numpy as np
import pandas as pd

from analyses import chip_budget


def test_budget_table_reports_dies_links_reload_and_lifetime(tmp_path, capsys):
    out = tmp_path / "budget"
    argv = ["--model", "scnn", "--variants", "channel,element", "-T", "2", "--images", "2"]
    argv += ["--cim", "neurosim-sram-22nm,spikesim-rram-65nm", "--out", str(out)]
    assert chip_budget.main(argv) == 0
    table = pd.read_csv(out / "chip_budget.csv")
    assert len(table) == 2 * 2 * 2  # variants × presets × budgets
    one = table[table.budget.str.startswith("1 die")]
    assert (one.dies == 1).all() and (table.dies <= table.dies_needed).all()
    # weights are rewritten exactly when the network needs more dies than it has
    rewritten = one.loads_per_image > 1
    assert (rewritten == (one.dies_needed > 1)).all()
    assert (one[rewritten].reload_uj > 0).all() and (one[~rewritten].reload_uj == 0).all()
    assert np.isinf(table[table.loads_per_image == 1].lifetime_years).all()
    rram = one[rewritten & one.preset.str.contains("rram")]
    assert np.isfinite(rram.lifetime_years).all()
    # a network on one die sends nothing over links
    assert (table[table.dies_needed == 1].link_mbit == 0).all()
    parts = [c for c in table.columns if c.endswith("_uj") and c != "energy_uj"]
    assert np.allclose(table[parts].sum(axis=1), table.energy_uj)
    assert "lifetime" in (out / "chip_budget.md").read_text()
