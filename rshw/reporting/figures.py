"""One figure style for every figure: IEEE column widths, TrueType fonts embedded in the PDF, the
Okabe-Ito colour-blind-safe palette, no axis offsets, and titles wrapped to the figure's width.

Widths follow IEEE's graphics guidelines for two-column journals and conferences: 3.5 in for one
column, 7.16 in for the full page width ("Preparing graphics for IEEE publications", IEEE Author
Center). The palette is Okabe & Ito, "Color Universal Design" (2008), also Wong, Nature Methods
8:441 (2011), distinguishable under the common colour-vision deficiencies.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from cycler import cycler

from simulators.components import CATEGORIES

COLUMN_WIDTH_IN = 3.5
"""One column of an IEEE two-column page, in inches."""
PAGE_WIDTH_IN = 7.16
"""Both columns of an IEEE two-column page (a figure* float), in inches."""
WIDTHS_IN = {1: COLUMN_WIDTH_IN, 2: PAGE_WIDTH_IN}

OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish green": "#009E73",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE = tuple(OKABE_ITO.values())
"""The colour cycle, most distinct first (yellow, weak on white, late)."""
VARIANT_COLORS = dict(zip(("none", "layer", "channel", "element"), PALETTE[:4], strict=True))
"""One fixed colour per Real Spike variant, the same in every figure."""
CATEGORY_COLORS = dict(zip(CATEGORIES, PALETTE, strict=False))
"""One fixed colour per energy category, the same in every breakdown."""

FONT_PT = 7.0
TITLE_PT = 7.5
RC = {
    "font.size": FONT_PT,
    "axes.titlesize": TITLE_PT,
    "axes.labelsize": FONT_PT,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6.0,
    "legend.title_fontsize": 6.5,
    "figure.titlesize": TITLE_PT,
    "figure.dpi": 150,
    "savefig.dpi": 300,
    "pdf.fonttype": 42,  # TrueType (Type 42) fonts, embedded; never Type 3
    "ps.fonttype": 42,
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.formatter.useoffset": False,  # a unit per panel, never a "1e6" offset
    "axes.formatter.limits": (-4, 5),
    "axes.grid": True,
    "grid.linewidth": 0.4,
    "grid.alpha": 0.5,
    "axes.linewidth": 0.6,
    "lines.linewidth": 0.9,
    "lines.markersize": 3.5,
    "errorbar.capsize": 1.5,
    "legend.frameon": False,
}


def apply() -> None:
    """Set the style (matplotlib's rcParams) for the figures made next."""
    matplotlib.rcdefaults()
    matplotlib.rcParams.update(RC)


def figure(columns: int = 1, aspect: float = 0.62, **kw):
    """A figure one (3.5 in) or two (7.16 in) columns wide, ``aspect`` × width high, with
    constrained layout (the page keeps its width: nothing is cropped on saving)."""
    if columns not in WIDTHS_IN:
        raise ValueError(f"a paper figure is 1 or 2 columns wide, got {columns}")
    apply()
    width = WIDTHS_IN[columns]
    return plt.subplots(figsize=(width, width * aspect), layout="constrained", **kw)


def wrap(fig, text: str, font_pt: float = TITLE_PT) -> str:
    """``text`` broken into lines that fit the figure's width (average glyph 0.55 em)."""
    chars = int(fig.get_figwidth() * 72 / (0.55 * font_pt))
    return "\n".join(textwrap.wrap(text, chars))


def title(fig, text: str) -> None:
    """A figure title wrapped to the figure's width."""
    fig.suptitle(wrap(fig, text))


def caption(fig, text: str) -> None:
    """A note under the panels (small type, wrapped): what a title would overflow with."""
    fig.supxlabel(wrap(fig, text, FONT_PT - 1), fontsize=FONT_PT - 1, ha="center")


def save(fig, path: str | Path) -> list[Path]:
    """Write ``path.pdf`` (vector, fonts embedded) and ``path.png`` at the figure's own size."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [path.with_suffix(".pdf"), path.with_suffix(".png")]
    for p in out:
        fig.savefig(p)
    plt.close(fig)
    return out
