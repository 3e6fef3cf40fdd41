"""What a reviewer checks on a figure, read from matplotlib's own objects and the saved PDF."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.container import ErrorbarContainer

PAPER_WIDTHS_PT = (3.5 * 72, 7.16 * 72)
"""IEEE one- and two-column widths in PDF points (3.5 in and 7.16 in, 72 pt per inch)."""


def _renderer(fig):
    """Draw the figure (on an Agg canvas: a saved, closed figure has none) and return it."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def log_tick_labels(axis) -> list[str]:
    """The non-empty tick labels (major and minor) inside the axis's limits."""
    low, high = sorted(axis.get_view_interval())
    labels = []
    for locs, formatter in (
        (axis.get_majorticklocs(), axis.get_major_formatter()),
        (axis.get_minorticklocs(), axis.get_minor_formatter()),
    ):
        inside = [v for v in locs if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]
        labels += [t for t in formatter.format_ticks(inside) if t.strip()]
    return labels


def thin_log_axes(fig) -> list[str]:
    """Every log axis with fewer than three labelled ticks inside its limits."""
    _renderer(fig)
    bad = []
    for n, ax in enumerate(fig.axes):
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log" and len(labels := log_tick_labels(axis)) < 3:
                bad.append(f"panel {n} {axis.axis_name}: {labels}")
    return bad


def legend_labels(fig) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def drawn_labels(axes) -> set[str]:
    """Labels of the artists drawn with data in ``axes`` (the labels a legend may list)."""
    out = set()
    for ax in axes:
        for artist in [*ax.containers, *ax.collections, *ax.lines, *ax.patches]:
            label = artist.get_label()
            if label and not label.startswith("_") and _has_data(artist):
                out.add(label)
    return out


def legend_mismatches(fig) -> list[str]:
    """Where a legend does not list exactly what is drawn: each panel's own legend against its
    panel, the figure's legends against the panels without one; no entry twice in a legend."""
    problems = []
    own = [ax for ax in fig.axes if ax.get_legend()]
    pairs = [([t.get_text() for t in ax.get_legend().get_texts()], [ax]) for ax in own]
    shared = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    pairs.append((shared, [ax for ax in fig.axes if ax not in own]))
    for labels, axes in pairs:
        if len(labels) != len(set(labels)):
            problems.append(f"repeated entries: {labels}")
        if set(labels) != (drawn := drawn_labels(axes)):
            problems.append(f"legend {sorted(labels)} but drawn {sorted(drawn)}")
    return problems


def _has_data(artist) -> bool:
    if hasattr(artist, "get_offsets"):
        return len(artist.get_offsets()) > 0
    if hasattr(artist, "get_xydata"):
        return len(artist.get_xydata()) > 0
    if isinstance(artist, ErrorbarContainer):
        return artist[0] is None or len(artist[0].get_xydata()) > 0
    if hasattr(artist, "patches"):
        return any(p.get_height() != 0 for p in artist.patches)
    return True


def marker_positions(fig) -> list[tuple[str, np.ndarray]]:
    """(series key, display positions) of every marker-drawing artist: the key is the artist's
    gid (a variant) where set, else its label; error-bar caps are not markers."""
    return [item for ax in fig.axes for item in marker_positions_in(ax)]


def marker_positions_in(ax) -> list[tuple[str, np.ndarray]]:
    out = []
    caps = {id(c) for cont in ax.containers if isinstance(cont, ErrorbarContainer) for c in cont[1]}
    for coll in ax.collections:
        offsets = np.asarray(coll.get_offsets())
        if isinstance(coll, PathCollection) and offsets.size:
            xy = coll.get_offset_transform().transform(offsets)
            out.append((coll.get_gid() or coll.get_label(), xy))
    for line in ax.lines:
        if id(line) in caps or line.get_marker() in (None, "", "None", " "):
            continue
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        out.append((line.get_gid() or line.get_label(), xy))
    return out


def hidden_markers(fig, within_pt: float = 1.5) -> list[str]:
    """Pairs of markers of different series drawn within ``within_pt`` points of each other."""
    _renderer(fig)
    px = within_pt * fig.dpi / 72
    found = []
    for (a, xa), (b, xb) in itertools.combinations(marker_positions(fig), 2):
        if a == b or not len(xa) or not len(xb):
            continue
        ok_a, ok_b = np.isfinite(xa).all(axis=1), np.isfinite(xb).all(axis=1)
        d = np.linalg.norm(xa[ok_a][:, None, :] - xb[ok_b][None, :, :], axis=-1)
        if d.size and d.min() < px:
            found.append(f"{a} / {b}")
    return found


def markers_outside(fig) -> list[str]:
    """Markers drawn outside their panel (clipped away, or pushed out by a dodge)."""
    _renderer(fig)
    out = []
    for ax in fig.axes:
        box = ax.bbox.padded(0.5)
        for key, xy in marker_positions_in(ax):
            xy = xy[np.isfinite(xy).all(axis=1)]
            if not all(box.contains(x, y) for x, y in xy):
                out.append(str(key))
    return out


def overprinted_texts(fig) -> list[str]:
    """Pairs of texts inside one panel (point labels) whose boxes overlap."""
    renderer = _renderer(fig)
    found = []
    for ax in fig.axes:
        texts = [t for t in ax.texts if t.get_text().strip() and t.get_visible()]
        boxes = [t.get_window_extent(renderer) for t in texts]
        for (ta, ba), (tb, bb) in itertools.combinations(zip(texts, boxes, strict=True), 2):
            if ba.overlaps(bb):
                found.append(f"{ta.get_text()!r} / {tb.get_text()!r}")
    return found


def colliding_texts(fig) -> list[str]:
    """Any two of: titles, axis labels, tick labels shown, legends, the figure's title and
    caption, whose boxes overlap (by more than half a pixel)."""
    renderer = _renderer(fig)
    items = [a for a in (fig._suptitle, fig._supxlabel, *fig.legends) if a is not None]
    for ax in fig.axes:
        if ax.get_visible() and ax.axison:
            items += [ax.title, ax.xaxis.label, ax.yaxis.label, ax.get_legend()]
            items += _shown_tick_labels(ax.xaxis, 0) + _shown_tick_labels(ax.yaxis, 1)
    shown = [a for a in items if a is not None and a.get_visible()]
    shown = [a for a in shown if not hasattr(a, "get_text") or a.get_text().strip()]
    boxes = [(a, a.get_window_extent(renderer).padded(-0.5)) for a in shown]
    return [
        f"{_name(a)!r} / {_name(b)!r}"
        for (a, ba), (b, bb) in itertools.combinations(boxes, 2)
        if ba.width > 0 and bb.width > 0 and ba.overlaps(bb)
    ]


def _name(artist) -> str:
    return artist.get_text() if hasattr(artist, "get_text") else type(artist).__name__


def texts_outside(fig) -> list[str]:
    """Titles, labels, tick labels and legends that run past the figure's edge."""
    renderer = _renderer(fig)
    edge = fig.bbox.padded(1.0)
    artists = [fig._suptitle, fig._supxlabel, *fig.legends]
    for ax in fig.axes:
        if ax.get_visible() and ax.axison:
            artists += [ax.title, ax.xaxis.label, ax.yaxis.label, ax.get_legend()]
            artists += _shown_tick_labels(ax.xaxis, 0) + _shown_tick_labels(ax.yaxis, 1)
    out = []
    for a in artists:
        if a is None or not a.get_visible() or (hasattr(a, "get_text") and not a.get_text()):
            continue
        box = a.get_window_extent(renderer)
        if box.width and not (
            edge.x0 <= box.x0 and box.x1 <= edge.x1 and edge.y0 <= box.y0 and box.y1 <= edge.y1
        ):
            out.append(getattr(a, "get_text", lambda a=a: type(a).__name__)())
    return out


def _shown_tick_labels(axis, coordinate: int) -> list:
    """The tick labels inside the axis's limits (matplotlib keeps, but does not draw, others)."""
    low, high = sorted(axis.get_view_interval())
    return [
        t
        for t in axis.get_ticklabels()
        if low - 1e-9 * abs(high - low)
        <= t.get_position()[coordinate]
        <= high + 1e-9 * abs(high - low)
    ]


def pdf_fonts(path: Path) -> dict[str, bool]:
    """Which font programs the PDF holds: TrueType (``FontFile2``, Type 42) and Type 3."""
    data = Path(path).read_bytes()
    return {
        "truetype": b"/FontFile2" in data,
        "type3": re.search(rb"/Subtype\s*/Type3", data) is not None,
    }


def pdf_width_pt(path: Path) -> float:
    """The page width from the PDF's MediaBox, in points."""
    box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)", Path(path).read_bytes())
    return float(box.group(3)) - float(box.group(1))
