"""Axes a reader can read: a unit chosen per panel from the data (µJ, mJ, J; µs, ms, s) in place
of a ``1e6`` offset, and log axes with at least three labelled ticks inside their limits."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

LADDERS = {
    "J": (("pJ", 1e-12), ("nJ", 1e-9), ("µJ", 1e-6), ("mJ", 1e-3), ("J", 1.0)),
    "s": (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)),
    "B": (("B", 1.0), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12)),
    "area": (("µm²", 1e-6), ("mm²", 1.0)),
    "ops": (("", 1.0), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)),
}
"""Quantity -> its units, smallest first, each with its size in the quantity's base unit."""
BASE = {"pJ": ("J", 1e-12), "µJ": ("J", 1e-6), "ms": ("s", 1e-3), "s": ("s", 1.0)}
BASE.update(
    {
        "mm2": ("area", 1.0),
        "B": ("B", 1.0),
        "MB": ("B", 1e6),
        "ops": ("ops", 1.0),
        "M": ("ops", 1e6),
    }
)
"""A unit the tables use -> (its quantity, its size in the base unit)."""


def unit_for(values: Iterable[float], unit: str) -> tuple[str, float]:
    """``(unit, factor)`` for data given in ``unit``: the largest unit of the quantity in which the
    largest magnitude is at least 1 (so labels read 1 to 999), and the factor to multiply by."""
    quantity, size = BASE[unit]
    finite = np.abs(np.asarray(list(values), dtype=float))
    finite = finite[np.isfinite(finite) & (finite > 0)]
    peak = finite.max() * size if finite.size else size
    ladder = LADDERS[quantity]
    name, chosen = ladder[0]
    for candidate, scale in ladder:
        if peak >= scale * (1 - 1e-9):  # a value at a unit boundary, up to rounding
            name, chosen = candidate, scale
    return name, 10.0 ** round(math.log10(size / chosen))  # every unit is a power of ten


SUBS = ((1.0,), (1.0, 3.0), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0), tuple(range(1, 10)))
"""Tick positions within a decade, fewest first: the first giving three ticks is used."""
READABLE = (1.0, 2.0, 5.0)
"""The densest ticks whose labels never crowd a narrow panel: an axis is widened until three of
them fall inside, so the denser series of ``SUBS`` are never needed."""
MAX_LABELS = 6
"""Most labelled ticks on a log axis (every other decade beyond it), so labels do not collide."""
MIN_SPAN = 4.0
"""Smallest ratio of a log axis's limits: any window of ratio 4 holds three of 1..9 × 10^k."""


def _ticks(low: float, high: float, subs: tuple[float, ...]) -> list[float]:
    decades = range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
    return [s * 10.0**d for d in decades for s in subs if low <= s * 10.0**d <= high]


def _label(value: float, _pos=None) -> str:
    """Plain numbers from 0.001 to 99999, powers of ten (mathtext) beyond."""
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:g}"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = value / 10.0**exponent
    head = "" if math.isclose(mantissa, 1.0) else f"{mantissa:g}\\times"
    return f"${head}10^{{{exponent}}}$"


def log_axis(ax, which: str = "both") -> None:
    """Make the log axes of ``ax`` readable: call once the data is drawn. The limits widen
    (geometrically, about their centre) to a ratio of at least 4, and further until three of 1-2-5
    × 10^k fall inside; labelled ticks go at 10^k, or where fewer than three of those fall inside,
    at 1-3 or 1-2-5 × 10^k, and unlabelled minor ticks at every 1..9 × 10^k."""
    axes = {"x": [ax.xaxis], "y": [ax.yaxis], "both": [ax.xaxis, ax.yaxis]}[which]
    for axis in axes:
        axis.axes.set(**{f"{axis.axis_name}scale": "log"})
        ax.autoscale_view()
        get = ax.get_xlim if axis.axis_name == "x" else ax.get_ylim
        put = ax.set_xlim if axis.axis_name == "x" else ax.set_ylim
        low, high = sorted(get())
        if high / low < MIN_SPAN:
            centre = math.sqrt(low * high)
            low, high = centre / math.sqrt(MIN_SPAN), centre * math.sqrt(MIN_SPAN)
        while len(_ticks(low, high, READABLE)) < 3:  # widen rather than crowd the labels
            low, high = low / 1.25, high * 1.25
        put(low, high)
        ticks = next(t for subs in SUBS if len(t := _ticks(low, high, subs)) >= 3)
        ticks = ticks[:: math.ceil(len(ticks) / MAX_LABELS)]
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FuncFormatter(_label))
        axis.set_minor_locator(LogLocator(base=10.0, subs=SUBS[-1], numticks=100))
        axis.set_minor_formatter(NullFormatter())


DODGE_PT = 5.0
"""Horizontal spacing of dodged series, in points: about one marker's width."""


def dodge(ax, index: int, count: int, spacing_pt: float = DODGE_PT):
    """The data transform of ``ax`` shifted sideways by ``(index - (count - 1) / 2) ×
    spacing_pt`` points: series that would coincide are drawn side by side, at their values."""
    from matplotlib.transforms import ScaledTranslation

    shift_in = (index - (count - 1) / 2) * spacing_pt / 72
    return ax.transData + ScaledTranslation(shift_in, 0, ax.figure.dpi_scale_trans)


def limits_from(ax, x, y) -> None:
    """Autoscale ``ax`` to the points ``(x, y)`` alone: dodged artists (drawn through a shifted
    transform) would otherwise count their shift, in display units, as data."""
    points = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    ax.ignore_existing_data_limits = True
    ax.update_datalim(points[np.isfinite(points).all(axis=1)])
    ax.autoscale_view()


def label_points(ax, xs, ys, texts, transform=None) -> list:
    """Small labels beside points (3 pt up and right), left out of the layout."""
    out = []
    for x, y, text in zip(xs, ys, texts, strict=True):
        note = ax.annotate(
            text,
            (x, y),
            xytext=(3, 3),
            textcoords="offset points",
            fontsize=5,
            xycoords=transform or ax.transData,
        )
        note.set_in_layout(False)
        out.append(note)
    return out


def drop_overprinted(fig, notes: list) -> int:
    """Remove each label that would overprint one kept before it (in drawing order), once the
    layout is final; returns how many were removed."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    kept, dropped = [], 0
    for note in notes:
        box = note.get_window_extent(renderer).padded(1.0)
        if any(box.overlaps(k) for k in kept):
            note.remove()
            dropped += 1
        else:
            kept.append(box)
    return dropped
