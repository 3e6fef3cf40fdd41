"""Parameter counts of zoo models, per Real Spike granularity (``rshw info MODEL``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from torch import nn

from rshw.models import create_model
from rshw.training.realspike import GRANULARITIES, realspike_parameters


def parameter_counts(name: str, realspike: str, **options: Any) -> dict[str, Any]:
    """Parameters: total, Real Spike ``a`` values, conv/linear weights, the rest (BN, biases)."""
    model = create_model(name, realspike=realspike, **options)
    a_ids = {id(p) for p in realspike_parameters(model)}
    total = sum(p.numel() for p in model.parameters())
    realspike_count = sum(p.numel() for p in model.parameters() if id(p) in a_ids)
    weights = sum(
        m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
    )
    return {
        "model": name,
        "realspike": realspike,
        "parameters": total,
        "realspike_a": realspike_count,
        "conv_linear_weights": weights,
        "other": total - realspike_count - weights,
    }


def parameter_table(name: str, **options: Any) -> pd.DataFrame:
    return pd.DataFrame([parameter_counts(name, g, **options) for g in GRANULARITIES])
