"""The hardware models ``rshw`` drives, and what each declares about itself.

Every package listed here implements the hardware protocol (``load_config(preset, overrides)``,
``simulate(graph, activity, config, **options) -> Report``, ``preset_names()``, ``OPTIONS``) and
declares, in its ``__init__``:

- ``PRESETS``: the folder of its preset files; ``DEFAULT_PRESET``: the preset a run uses unless
  told otherwise; ``DEFAULT_SETTINGS``: the settings of a default run (a list: one run per value);
- ``CALIBRATED``: preset name -> the run options under which it was fitted to measurements
  (``{}``: nothing of this hardware was measured, so its runs are neither calibrated nor not);
- ``accuracy``: ``accuracy(graph, config, options, x, labels, calibration, seed) -> dict`` (the
  network's accuracy as this hardware computes it), or None when it computes none;
- ``INFEASIBLE``: the exceptions that mean "the network does not fit this design point" (a
  result of a sweep, not a crash);
- ``NOTES``: run option -> the footnote a table shows when a run sets it;
- ``COMPARED``: the presets a comparison across hardware (``analyses/energy.py``) runs by default.

Code above ``simulators/`` asks this registry; it never branches on a hardware's name.
"""

from __future__ import annotations

import importlib
from types import ModuleType

HARDWARE = ("analytic", "cim", "gpu")


def package(name: str) -> ModuleType:
    """The ``simulators.<name>`` package (imported on first use); ValueError for another name."""
    if name not in HARDWARE:
        raise ValueError(f"unknown hardware {name!r}; choose from {', '.join(HARDWARE)}")
    return importlib.import_module(f"simulators.{name}")
