"""Layer-by-layer comparison of our LIF with Brian2 on a graph's recorded pre-activations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulators import executor
from simulators.ir import Graph
from simulators.reference.lif_layer import brian2_lif_layer


def record_lif_inputs(graph: Graph, x: np.ndarray, dtype) -> dict[str, np.ndarray]:
    """The input current ``[T, N, *shape]`` of every LIF (after folded BN, before the neuron)."""
    lifs = [n for n in graph if n.op == "lif"]
    out = executor.run(graph, x, dtype=dtype, keep=[n.inputs[0] for n in lifs])
    return {n.name: out[n.inputs[0]] for n in lifs}


def crosscheck_graph(
    graph: Graph, recorded: dict[str, np.ndarray], dtype=np.float64, target: str = "numpy"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every LIF layer in our code and in Brian2 from the same recorded inputs.

    Returns a table (one row per layer: neurons, steps, spikes ours and Brian2's, mismatches,
    the largest distance |u − v_th| among mismatches) and the mismatches themselves.
    """
    from simulators.lif import lif_run

    dtype = np.dtype(dtype)
    rows, mismatches = [], []
    for node in (n for n in graph if n.op == "lif"):
        if node.name not in recorded:
            raise ValueError(f"no recorded input for LIF layer {node.name!r}")
        x = np.asarray(recorded[node.name])
        if x.ndim < 2 or tuple(x.shape[2:]) != node.shape:
            raise ValueError(
                f"recorded input for {node.name!r} has shape {x.shape}; the layer "
                f"needs [T, N, {', '.join(map(str, node.shape))}]"
            )
        flat = x.reshape(x.shape[0], -1).astype(dtype)
        tau, v_th = dtype.type(node.attrs["tau"]), dtype.type(node.attrs["v_th"])
        ours, u_ours = lif_run(flat, tau, v_th)
        theirs, u_theirs = brian2_lif_layer(flat, float(tau), float(v_th), dtype, target)
        differ = ours.astype(bool) != theirs
        step, neuron = np.nonzero(differ)
        distance = np.abs(u_ours[step, neuron] - v_th)
        mismatches += [
            {
                "layer": node.name,
                "step": int(t),
                "neuron": int(i),
                "u_ours": float(u_ours[t, i]),
                "u_brian2": float(u_theirs[t, i]),
                "distance_to_v_th": float(d),
            }
            for t, i, d in zip(step, neuron, distance, strict=True)
        ]
        rows.append(
            {
                "layer": node.name,
                "dtype": dtype.name,
                "target": target,
                "neurons": flat.shape[1],
                "steps": flat.shape[0],
                "spikes_ours": int(ours.sum()),
                "spikes_brian2": int(theirs.sum()),
                "mismatches": int(differ.sum()),
                "max_mismatch_distance": float(distance.max()) if len(distance) else 0.0,
                "max_abs_u_difference": float(np.abs(u_ours - u_theirs).max()),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(
        mismatches, columns=["layer", "step", "neuron", "u_ours", "u_brian2", "distance_to_v_th"]
    )
