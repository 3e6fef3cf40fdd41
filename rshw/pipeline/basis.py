"""The runs of a table on a comparison basis (:mod:`simulators.basis`): on ``common`` each run
takes the preset and settings its hardware package declares for the common weight precision."""

from __future__ import annotations

from rshw.pipeline.hardware import HardwareRun
from simulators.basis import check_basis, common_run


def on_basis(runs: list[HardwareRun], basis: str) -> list[HardwareRun]:
    """``runs`` unchanged for ``native``; re-based for ``common`` (runs that become the same, e.g.
    the fp32 and int8 analytic tables both at 8 bits, once)."""
    if check_basis(basis) == "native":
        return runs
    out, seen = [], set()
    for run in runs:
        preset, settings = common_run(run.hardware, run.preset, run.settings)
        key = (run.hardware, preset, tuple(sorted(settings.items())))
        if key not in seen:
            seen.add(key)
            out.append(HardwareRun(run.hardware, preset, settings, run.label))
    return out
