"""One figure style for every table and figure: readable in a two-column paper, PDF and PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import seaborn as sns

COLUMN_WIDTH_IN = 3.4
"""One column of a two-column paper (IEEE/ACM), in inches."""


def apply() -> None:
    sns.set_theme(
        context="paper",
        style="whitegrid",
        font_scale=0.9,
        rc={
            "figure.dpi": 150,
            "savefig.dpi": 300,
            "pdf.fonttype": 42,
            "ps.fonttype": 42,
            "axes.titlesize": 8,
            "legend.fontsize": 7,
        },
    )


def figure(width_columns: float = 1.0, aspect: float = 0.62, **kw):
    apply()
    width = COLUMN_WIDTH_IN * width_columns
    return plt.subplots(figsize=(width, width * aspect), constrained_layout=True, **kw)


def save(fig, path: str | Path) -> list[Path]:
    """Write ``path.pdf`` (vector) and ``path.png``; returns both paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [path.with_suffix(".pdf"), path.with_suffix(".png")]
    for p in out:
        fig.savefig(p, bbox_inches="tight")
    plt.close(fig)
    return out
