"""``rshw simulate``: one trained network, re-parameterized, traced on real images and run on
every hardware model, with a summary table, Report CSVs, figures and a manifest.

It is the sequence of stages (:mod:`rshw.pipeline.stages`) its plan (:mod:`rshw.pipeline.plan`)
asks for: fold the network once; then, for the number of images (or each doubling of
``--images auto``), trace them in float64, verify that the IR's spikes equal the torch model's,
and simulate every hardware run. Each stage's product is cached by its records (``--force``
recomputes); :mod:`rshw.reporting.run_folder` writes the run folder from the products.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from tqdm import tqdm

from rshw.errors import OptionError
from rshw.pipeline import stages
from rshw.pipeline.hardware import HardwareRun, headline
from rshw.pipeline.image_stats import grow_images, relative_half_width
from rshw.pipeline.plan import Plan
from rshw.pipeline.stages import Folded, Images, Product
from simulators.basis import rebase


@dataclass
class Traced:
    """The products of one number of images: the trace and its verification."""

    folded: Folded
    images: Images
    trace: Product
    verification: Product

    @property
    def activity(self):
        return self.trace.value


@dataclass
class Simulated:
    """A traced network with every hardware run's report."""

    traced: Traced
    reports: dict[HardwareRun, Product]
    images_stop: str | None = None


def traced_images(folded: Folded, images: Images, force: bool, say=print) -> Traced:
    """The trace and verify stages on one draw of images."""
    trace = stages.trace(folded.graph, images, force)
    verification = stages.verify(folded, trace, images, force)
    for name, product in (("trace", trace), ("verify", verification)):
        if product.cached:
            say(f"{name}: cached ({stages.runcache.entry(product.key)})")
    return Traced(folded, images, trace, verification)


def simulated(plan: Plan, traced: Traced) -> dict[HardwareRun, Product]:
    """The simulate stage for every hardware run of the plan."""
    reports = {}
    for run in tqdm(plan.runs, desc="hardware", disable=len(plan.runs) < 2):
        product = stages.simulate(run, traced.folded, traced.trace, plan.force)
        if isinstance(product.value, dict):  # {"infeasible": why}
            raise stages.Infeasible(f"{run.name}: {product.value['infeasible']}")
        graph = traced.folded.graph
        rebased = rebase(run.hardware, run.preset_name, product.value, graph, plan.basis)
        reports[run] = replace(product, value=rebased)
    return reports


def simulate_plan(plan: Plan, say=print) -> Simulated:
    """Fold once; trace, verify and simulate ``plan.images`` images, or with ``auto`` a doubling
    number of them until every run's energy CI half-width is within the target of its mean or the
    cap (at most the test split) is reached."""
    rule = plan.images
    if rule.images == "auto" and not plan.runs:
        raise OptionError(
            "--images auto grows the images until the energies' intervals are tight: "
            "it needs at least one hardware run"
        )
    folded = stages.fold(plan.model, plan.force, say)
    if folded.product.cached:
        say(f"fold: cached ({stages.runcache.entry(folded.key)})")
    test = plan.test_split()
    done: list[Simulated] = []

    def measure(n: int) -> dict[str, float]:
        traced = traced_images(folded, Images(plan.data_at(n, test), test), plan.force, say)
        done.append(Simulated(traced, simulated(plan, traced)))
        return {
            run.name: relative_half_width(headline(run, product.value))
            for run, product in done[-1].reports.items()
        }

    if rule.images != "auto":
        measure(rule.images)
        return done[-1]
    cap = min(rule.images_cap, len(test))
    n, reason = grow_images(measure, min(8, cap), cap, rule.ci_target)
    say(f"--images auto: {n} images, {reason}")
    done[-1].images_stop = reason
    return done[-1]


def timings(result: Simulated) -> dict[str, float]:
    """Seconds per stage of the last number of images (0 where it came from the cache)."""
    traced = result.traced
    out = {
        "fold_s": traced.folded.product.seconds,
        "trace_s": traced.trace.seconds,
        "verify_s": traced.verification.seconds,
    }
    out.update({f"{run.slug}_s": product.seconds for run, product in result.reports.items()})
    return out


def simulate_run(plan: Plan, say=print) -> dict[str, Any]:
    """Run the plan's stages and write its run folder; returns the manifest."""
    from rshw.reporting.run_folder import write_run_folder

    started = time.perf_counter()
    return write_run_folder(plan, simulate_plan(plan, say), started)
