"""Every figure function of `rshw simulate`, `analyses/energy.py`, `chip_accuracy.py`,
`accuracy.py` and `sweep.py`, rendered from small hand-built tables and checked the way a reviewer
would: readable log axes, a legend that lists what is drawn (and, in a breakdown, only components
or categories), no variant hidden behind another, no label overprinting another, nothing past the
page's edge, fonts embedded as TrueType, and a page one or two IEEE columns wide."""

from __future__ import annotations

from itertools import product
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from rshw.reporting import figures
from simulators.components import CATEGORIES
from simulators.report import Report
from tests import figure_checks as check

VARIANTS = ("none", "layer", "channel", "element")
COMPONENTS = {
    "analytic": {"arithmetic": 4.0, "weight_memory": 6.0, "dram": 5.0},
    "cim": {"crossbar": 0.8, "adc": 0.7, "htree": 0.3, "leakage": 0.2},
    "gpu": {"sm": 9e3, "l2": 6e3, "dram": 1e4, "stream": 5e3},
}
"""Energy per inference (µJ) of each component of a shared variant; ``element`` costs 3×."""
HEADING = "resnet19 channel (resnet19-cifar10-channel-T4, test acc. 91.23%, 90.0% on 8 images)"


def energy_table() -> pd.DataFrame:
    """The energy table of five hardware runs × four variants, where none, layer and channel
    share their kernels and so every number (``element`` does not: 3× the energy, 150× the
    area on a chip, as on ResNet19)."""
    runs = [
        ("analytic", "horowitz-45nm-fp32", "analytic", None, None, None),
        ("cim", "spikesim-rram-65nm", "cim", 0.5, 40.0, None),
        ("cim", "neurosim-rram-22nm", "cim", 1.1, 33.0, None),
        ("gpu batch=1", "h200", "gpu", 2.1, 814.0, 3e6),
        ("gpu batch=64", "h200", "gpu", 8.4, 814.0, 2e8),
    ]
    rows = []
    for hw, preset, simulator, latency, area, dram in runs:
        for variant in VARIANTS:
            k = 3.0 if variant == "element" else 1.0
            parts = {f"energy_uj_{c}": k * v for c, v in COMPONENTS[simulator].items()}
            energy = sum(parts.values())
            rows.append(
                {
                    "model": "resnet19",
                    "variant": variant,
                    "mapping": "unshared" if variant == "element" else "shared",
                    "weights_label": "stand-in",
                    "test_acc_pct": None,
                    "traced_acc_pct": 12.5,
                    "images": 8,
                    "hardware": hw,
                    "preset": preset,
                    "simulator": simulator,
                    "energy_uj": energy,
                    "energy_uj_ci95": 0.05 * energy,
                    "latency_ms": None if latency is None else k * latency,
                    "latency_ms_ci95": None if latency is None else 0.01 * latency,
                    "area_mm2": None
                    if area is None
                    else (150 * area if k > 1 and hw == "cim" else area),
                    "dram_bytes": None if dram is None else k * dram,
                    **parts,
                }
            )
    return pd.DataFrame(rows)


def layer_frames() -> dict[str, pd.DataFrame]:
    """Per variant, firing rates and SOPs per layer; none and layer equal at every layer."""
    rates = {"none": [0.1, 0.2, 0.15], "layer": [0.1, 0.2, 0.15], "channel": [0.12, 0.18, 0.2]}
    return {
        v: pd.DataFrame(
            {
                "layer": ["conv1", "lif1", "conv2", "lif2", "fc", "lif3"],
                "firing_rate": [None, r[0], None, r[1], None, r[2]],
                "sops": [2e6, 0.0, 4e6, 0.0, 1e5, 0.0],
            }
        )
        for v, r in rates.items()
    }


def report(hardware: str, scale: float = 1.0) -> Report:
    """A report of one layer per component of ``hardware``, with per-image energies."""
    rows = [
        {
            "hardware": f"{hardware}:preset",
            "layer": "conv1",
            "op": "conv",
            "component": c,
            "event": "op",
            "events": 1.0,
            "energy_pj": v * 1e6 * scale,
        }
        for c, v in COMPONENTS[hardware].items()
    ]
    total = sum(COMPONENTS[hardware].values()) * 1e6 * scale
    per_image = pd.DataFrame({"image": range(4), "energy_pj": total * np.array([0.9, 1, 1, 1.1])})
    return Report.from_rows(rows, per_image=per_image)


def counts_report() -> Report:
    rows = [
        {
            "hardware": "analytic:horowitz",
            "layer": layer,
            "op": "conv",
            "component": "arithmetic",
            "event": event,
            "events": n,
        }
        for layer, event, n in [
            ("conv1", "sop", 2e6),
            ("conv1", "mac", 9e6),
            ("conv2", "sop", 4e6),
            ("conv2", "mac", 3e7),
        ]
    ]
    return Report.from_rows(rows)


def sweep_table() -> pd.DataFrame:
    from analyses.sweep_figures import mark_pareto

    rows = []
    for k, (bits, rows_parallel) in enumerate([(b, r) for b in (4, 6, 8) for r in (32, 64)]):
        rows.append(
            {
                "hardware": "cim",
                "preset": "spikesim-rram-65nm",
                "feasible": True,
                "energy_uj": 2.0 + 0.2 * bits - 0.005 * rows_parallel,
                "latency_ms": 0.5 + 0.01 * rows_parallel - 0.02 * k,
                "area_mm2": 40 + bits + 0.05 * rows_parallel,
            }
        )
    return mark_pareto(pd.DataFrame(rows))


POLICIES = {"fixed/offset/0": 0.0, "calibrated/differential/0": 0.1}
"""Two read policies of the chip-accuracy figure, the second more accurate at every bit count."""


def chip_table() -> pd.DataFrame:
    from analyses.chip_accuracy import mark_pareto

    rows = []
    for variant, unshared in (("channel", 1.0), ("element", 1.6)):
        for sigma, (policy, extra) in product((0.0, 0.1), POLICIES.items()):
            for bits in range(2, 9):
                acc = min(0.98, 0.5 + 0.07 * bits + extra) - sigma
                rows.append(
                    {
                        "variant": variant,
                        "hardware": "cim",
                        "preset": "neurosim",
                        "policy": policy,
                        "adc_bits": bits,
                        "variation_sigma": sigma,
                        "dtype": None,
                        "energy_uj": unshared * (1.0 + 0.01 * bits + extra),
                        "accuracy": acc,
                        "accuracy_ci_low": acc - 0.02,
                        "accuracy_ci_high": acc + 0.01,
                        "ideal_accuracy": 0.98,
                    }
                )
        for dtype, energy in (("fp32", 50.0), ("bf16", 48.0), ("fp16", 48.5), ("int8", 47.0)):
            rows.append(
                {
                    "variant": variant,
                    "hardware": "gpu",
                    "preset": "h200",
                    "adc_bits": None,
                    "variation_sigma": None,
                    "dtype": dtype,
                    "energy_uj": unshared * energy,
                    "accuracy": 0.97,
                    "accuracy_ci_low": 0.96,
                    "accuracy_ci_high": 0.98,
                    "ideal_accuracy": 0.98,
                }
            )
    return mark_pareto(pd.DataFrame(rows))


def accuracy_cells() -> pd.DataFrame:
    """Two datasets (two panels), four variants, three seeds each."""
    from analyses.accuracy import summarize

    runs = pd.DataFrame(
        [
            {
                "model": "scnn",
                "dataset": dataset,
                "recipe": "r",
                "variant": v,
                "seed": s,
                "test_acc": base + 0.1 * s + 0.2 * k,
                "val_acc": base,
            }
            for dataset, base in (("mnist", 98.0), ("cifar10", 66.0))
            for k, v in enumerate(VARIANTS)
            for s in range(3)
        ]
    )
    return summarize(runs)


def draw_energy_breakdown(out):
    from analyses import energy_figures

    return energy_figures.energy_breakdown(energy_table(), out)


def draw_latency_vs_cost(out):
    from analyses import energy_figures

    return energy_figures.latency_vs_cost(energy_table(), out)


def draw_per_layer_rates(out):
    from analyses import energy_figures

    rates = {v: f[f.firing_rate.notna()] for v, f in layer_frames().items()}
    return energy_figures.per_layer(energy_table(), out, rates, "firing_rate", "rates", "rate")


def draw_per_layer_sops(out):
    from analyses import energy_figures

    sops = {v: f[f.sops > 0] for v, f in layer_frames().items()}
    return energy_figures.per_layer(energy_table(), out, sops, "sops", "sops", "SOPs per layer")


def draw_run_breakdown(out):
    from rshw.reporting import run_figures

    reports = {"analytic": report("analytic"), "cim": report("cim"), "gpu batch=1": report("gpu")}
    return run_figures.energy_breakdown(out, reports, HEADING)


def draw_run_rates(out):
    from rshw.reporting import run_figures

    nodes = [SimpleNamespace(name=f"lif{k}", op="lif") for k in range(1, 5)]
    rates = {"lif1": 0.1, "lif2": 0.25, "lif3": 0.05, "lif4": 0.3}
    activity = SimpleNamespace(edges=rates, rate=rates.get)
    return run_figures.firing_rates(out, activity, nodes, HEADING)


def draw_run_ops(out):
    from rshw.reporting import run_figures

    return run_figures.sops_per_layer(out, counts_report(), HEADING)


def draw_pareto(out):
    from analyses import sweep_figures

    return sweep_figures.pareto(sweep_table(), out)


def draw_chip_accuracy(out):
    from analyses import chip_accuracy

    return chip_accuracy.figure(chip_table(), out)


def draw_accuracy(out):
    from analyses import accuracy

    return accuracy.figure(accuracy_cells(), out / "accuracy")


CASES = {
    "energy.energy_breakdown": draw_energy_breakdown,
    "energy.latency_vs_cost": draw_latency_vs_cost,
    "energy.firing_rates": draw_per_layer_rates,
    "energy.sops_per_layer": draw_per_layer_sops,
    "simulate.energy_breakdown": draw_run_breakdown,
    "simulate.firing_rates": draw_run_rates,
    "simulate.ops_per_layer": draw_run_ops,
    "sweep.pareto": draw_pareto,
    "chip_accuracy.figure": draw_chip_accuracy,
    "accuracy.figure": draw_accuracy,
}
BREAKDOWNS = {
    "energy.energy_breakdown": {c for cs in COMPONENTS.values() for c in cs},
    "simulate.energy_breakdown": {c for cs in COMPONENTS.values() for c in cs},
}
"""Figures whose legend may list only components of the report or their categories."""


@pytest.fixture(scope="module", params=list(CASES))
def drawn(request, tmp_path_factory):
    """(name, figure, saved PDF) of one figure function, the figure caught as it is saved."""
    caught = []
    save = figures.save

    def keep(fig, path):
        caught.append(fig)
        return save(fig, path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(figures, "save", keep)
        paths = CASES[request.param](tmp_path_factory.mktemp(request.param))
    (fig,) = caught
    (pdf,) = [p for p in paths if p.suffix == ".pdf"]
    return request.param, fig, pdf


def test_every_log_axis_shows_three_labelled_ticks(drawn):
    _, fig, _ = drawn
    assert check.thin_log_axes(fig) == []


def test_legend_lists_exactly_what_is_drawn(drawn):
    _, fig, _ = drawn
    assert check.legend_mismatches(fig) == []


def test_breakdown_legend_names_only_components_or_categories(drawn):
    name, fig, _ = drawn
    if name not in BREAKDOWNS:
        pytest.skip("not a breakdown")
    labels = set(check.legend_labels(fig))
    assert labels and labels <= BREAKDOWNS[name] | set(CATEGORIES)


def test_no_variant_hides_another(drawn):
    _, fig, _ = drawn
    assert check.hidden_markers(fig) == []


def test_every_marker_lies_inside_its_panel(drawn):
    _, fig, _ = drawn
    assert check.markers_outside(fig) == []


def test_point_labels_do_not_overprint(drawn):
    _, fig, _ = drawn
    assert check.overprinted_texts(fig) == []


def test_titles_and_labels_stay_on_the_page(drawn):
    _, fig, _ = drawn
    assert check.texts_outside(fig) == []
    assert check.colliding_texts(fig) == []


def test_pdf_embeds_truetype_fonts_and_no_type3(drawn):
    _, _, pdf = drawn
    assert check.pdf_fonts(pdf) == {"truetype": True, "type3": False}


def test_page_is_one_or_two_ieee_columns_wide(drawn):
    _, _, pdf = drawn
    assert min(abs(check.pdf_width_pt(pdf) - w) for w in check.PAPER_WIDTHS_PT) < 0.5


def test_the_font_check_rejects_type3_fonts(tmp_path):
    """The PDF check itself can fail: matplotlib's Type 3 output is caught."""
    import matplotlib

    fig, ax = figures.figure(1)
    ax.set_title("energy (µJ)")
    with matplotlib.rc_context({"pdf.fonttype": 3}):
        fig.savefig(tmp_path / "type3.pdf")
    assert check.pdf_fonts(tmp_path / "type3.pdf") == {"truetype": False, "type3": True}
