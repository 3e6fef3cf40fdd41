"""Shared against unshared kernels on CIM chips under a die budget (issue 22, item 6).

    python -m analyses.chip_budget [--model resnet19] [--variants channel,element]
        [--cim PRESETS] [--budgets 0,1] [--dataset cifar10-sample] [--images 2] [--out DIR]

For every variant and CIM preset, two budgets: ``chips = 0`` (as many dies as the network
needs, each checked against the reticle, traffic between them over priced links) and
``chips = 1`` (one die; what does not fit is rewritten every image: ``overflow = "reload"``).
One row each: dies built and needed, weight loads per image, energy per inference by component
(what moved), link traffic and energy, reload traffic and energy, latency (the busiest link's
time beside it), area and the cells' lifetime. Writes ``chip_budget.csv`` and ``.md``.
``analyses.energy`` writes the same table beside its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from rshw import options
from rshw.errors import run_guarded
from rshw.reporting.tables import markdown
from simulators.files import atomic_write_text

HARDWARE = "cim"
BUDGETS = (0, 1)
"""As many dies as needed, and one die that reloads what does not fit."""
COMPONENTS = ("crossbar", "adc", "noc", "chip_link", "reload", "leakage")
"""Components shown one by one; the rest of the energy is summed as ``other``."""


def budget_rows(result, presets: list[str], budgets: list[int], force: bool = False) -> list:
    """One row per CIM preset × chip budget for a simulated variant
    (:class:`rshw.pipeline.simulate.Simulated`), each run through the cached simulate stage."""
    from rshw.pipeline import stages
    from rshw.pipeline.hardware import HardwareRun

    traced = result.traced
    graph = traced.folded.graph
    rows = []
    for preset in presets:
        for chips in budgets:
            # budget 0: the preset as shipped (every preset sets chips = 0), the same cache entry
            run = HardwareRun(HARDWARE, preset, {"chips": chips} if chips else {})
            report = stages.simulate(run, traced.folded, traced.trace, force).value
            s = report.summary
            clock_hz = s["latency_cycles"] / s["latency_s"]
            by = report.frame.groupby("component").energy_pj.sum() / 1e6
            shown = {f"{c}_uj": float(by.get(c, 0.0)) for c in COMPONENTS}
            rows.append(
                {
                    "variant": graph.meta["realspike"],
                    "preset": preset,
                    "budget": "as needed" if chips == 0 else f"{chips} die(s), reload",
                    "images": s["samples"],
                    "dies": s["chips"],
                    "dies_needed": s["chips_needed"],
                    "die_mm2": s["chip_area_mm2"],
                    "loads_per_image": s["reload_rounds"],
                    "energy_uj": s["energy_pj"] / 1e6,
                    **shown,
                    "other_uj": s["energy_pj"] / 1e6 - sum(shown.values()),
                    "link_mbit": s["link_bits"] / 1e6,
                    "reload_mbit": s["reload_dram_bits"] / 1e6,
                    "latency_ms": s["latency_s"] * 1e3,
                    "link_bound_ms": s["link_bound_cycles"] / clock_hz * 1e3,
                    "area_mm2": s["area_mm2"],
                    "lifetime_years": s["lifetime_years"],
                }
            )
    return rows


def presets(names: str | None) -> list[str]:
    """CIM presets from a comma list (None: all; "": none)."""
    from rshw.pipeline.hardware import preset_names

    return preset_names(HARDWARE) if names is None else [n for n in names.split(",") if n]


def write(rows: list[dict], out: Path) -> pd.DataFrame:
    """``chip_budget.csv`` and ``chip_budget.md`` in ``out``."""
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "chip_budget.csv", table.to_csv(index=False))
    note = (
        "\n- energy per inference by component (µJ), mean over the images; other = the rest "
        "(buffers, neurons, H-tree, digital); lifetime: inf where no weight is rewritten\n"
    )
    atomic_write_text(out / "chip_budget.md", markdown(table.round(4)) + note)
    return table


def main(argv: list[str] | None = None) -> int:
    from rshw.pipeline.plan import resolve
    from rshw.pipeline.simulate import simulate_plan

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add(p, "model", "dataset", "data", "timesteps", "static_input", "out", "force")
    options.add(p, variants="channel,element", images=2)
    p.add_argument("--cim", default=None, help="CIM presets (default: all)")
    p.add_argument("--budgets", default="0,1", help="chip budgets (0: as many as needed)")
    args = p.parse_args(argv)
    chosen = presets(args.cim)
    budgets = [int(b) for b in args.budgets.split(",")]
    rows = []
    for variant in args.variants.split(","):
        request = options.simulate_request(args, variant, hardware=())
        rows += budget_rows(simulate_plan(resolve(request)), chosen, budgets, args.force)
    out = Path(args.out or f"results/chip_budget/{args.model}")
    table = write(rows, out)
    print(table.to_string(index=False))
    print(f"wrote {out}/chip_budget.csv and .md")
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded(main))
