"""Plain-text tables for papers and READMEs (Markdown without extra dependencies)."""

from __future__ import annotations

import math

import pandas as pd


def _cell(value, floatfmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return format(value, floatfmt)
    return str(value)


def markdown(frame: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned, missing values as an en dash."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    align = (
        "|"
        + "|".join(
            "---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---" for c in frame.columns
        )
        + "|"
    )
    body = [
        "| " + " | ".join(_cell(v, floatfmt) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, align, *body]) + "\n"
