"""Per-layer summary of an IR graph: what each layer is and what it stores."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulators.connectivity import synapses
from simulators.ir import WEIGHTED_OPS, Graph


def summarize(graph: Graph, weight_bytes: int = 4) -> pd.DataFrame:
    """One row per node: op, shapes, kernel sharing, weights (count and bytes), mean fan-in and
    fan-out over the layer's neurons (exact, borders included), neurons of LIF layers."""
    rows = []
    for node in graph:
        in_shape = graph[node.inputs[0]].shape if node.inputs else ()
        row = {
            "layer": node.name,
            "op": node.op,
            "input_shape": "×".join(map(str, in_shape)),
            "output_shape": "×".join(map(str, node.shape)),
            "kernels": {"conv": "shared", "linear": "shared", "local": "unshared"}.get(node.op, ""),
            "binary_input": bool(node.attrs.get("binary_input", False)),
            "weights": node.weight_count,
            "weight_bytes": node.weight_count * weight_bytes,
            "synapses": 0,
            "fan_in": 0.0,
            "fan_out": 0.0,
            "neurons": int(np.prod(node.shape)) if node.op == "lif" else 0,
        }
        if node.op in WEIGHTED_OPS:
            count = synapses(graph, node)
            row.update(
                synapses=count,
                fan_in=count / np.prod(node.shape),
                fan_out=count / np.prod(in_shape),
            )
        rows.append(row)
    return pd.DataFrame(rows)
