"""A report's energy by named category (compute, memory, data movement, periphery and ADC,
static), from the component -> category map each hardware package declares."""

from __future__ import annotations

import pandas as pd

from rshw.pipeline.hardware import module
from simulators.components import CATEGORIES


def category_map(hardware: str) -> dict[str, str]:
    """``simulators.<hardware>.COMPONENT_CATEGORIES``."""
    return dict(module(hardware).COMPONENT_CATEGORIES)


def by_category(energy: pd.Series, hardware: str) -> pd.Series:
    """``energy`` (indexed by component) summed per category, in :data:`CATEGORIES` order,
    zero categories left out. A component the package does not map keeps its own name."""
    mapping = category_map(hardware)
    summed = energy.groupby(lambda c: mapping.get(c, c), sort=False).sum()
    order = [c for c in CATEGORIES if c in summed.index]
    order += sorted(c for c in summed.index if c not in CATEGORIES)
    summed = summed[order]
    return summed[summed > 0]


def report_hardware(report) -> str:
    """The package that made a Report: its ``hardware`` column reads ``<package>:<config>``."""
    return str(report.frame.hardware.iloc[0]).split(":", 1)[0]
