"""Reference executor of IR graphs in numpy (float32 or float64).

Runs layer by layer over all time steps at once (the graph has no recurrence besides each LIF's
own state), which keeps the matrix products large. Nodes whose inputs do not change over time (the
stem on a static image) are computed once and broadcast over T. Intermediate results are freed as
soon as their last consumer has run; only the requested nodes are returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from simulators.ir import Graph, GraphError, Node, pair, window_out
from simulators.lif import lif_run

# bytes of im2col buffer per chunk: bounds memory on big layers. 8 MiB chunks run ResNet19 about
# 1.3x faster (the rows stay in cache) but change which rows BLAS multiplies at once, and with
# them the last bit of some float32 sums: a few spikes of the documented runs would move
_IM2COL_BYTES = 1 << 27


def unroll(x: np.ndarray, kernel, stride=1, padding=0, taps_first: bool = False) -> np.ndarray:
    """Row inputs (im2col) ``[N, Ho·Wo, C·kh·kw]`` of ``[N, C, H, W]``, zero padded; each row
    in ``(c, i, j)`` order, or ``(i, j, c)`` with ``taps_first``. Built tap by tap from a
    channels-last copy: a few strided copies instead of one six-dimensional gather."""
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel), pair(stride), pair(padding)
    (n, c), (ho, wo) = x.shape[:2], window_out(x.shape[2:], kernel, stride, padding)
    x = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    cols = np.empty((n, ho, wo, kh, kw, c) if taps_first else (n, ho, wo, c, kh, kw), x.dtype)
    for i in range(kh):
        for j in range(kw):
            tap = x[:, i : i + (ho - 1) * sh + 1 : sh, j : j + (wo - 1) * sw + 1 : sw]
            if taps_first:
                cols[:, :, :, i, j] = tap
            else:
                cols[..., i, j] = tap
    return cols.reshape(n, ho * wo, c * kh * kw)


def conv2d(x: np.ndarray, weight: np.ndarray, stride=1, padding=0) -> np.ndarray:
    """``[N, Ci, H, W]`` × ``[Co, Ci, kh, kw]`` → ``[N, Co, Ho, Wo]`` (correlation, zero pad)."""
    co, ci, kh, kw = weight.shape
    n, (ho, wo) = len(x), window_out(x.shape[2:], (kh, kw), stride, padding)
    w2 = weight.reshape(co, -1).T
    out = np.empty((n, ho, wo, co), dtype=np.result_type(x, weight))
    chunk = max(1, _IM2COL_BYTES // max(1, ho * wo * ci * kh * kw * x.itemsize))
    for s in range(0, n, chunk):
        cols = unroll(x[s : s + chunk], (kh, kw), stride, padding)
        out[s : s + chunk] = (cols.reshape(-1, ci * kh * kw) @ w2).reshape(-1, ho, wo, co)
    return out.transpose(0, 3, 1, 2)


def pool2d(x: np.ndarray, kernel, stride, padding, mode: str) -> np.ndarray:
    """Average (zero padding counted, as torch's default) or max pooling of ``[N, C, H, W]``."""
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel), pair(stride), pair(padding)
    if mode == "max" and ph == pw == 0:  # elementwise maxima of strided taps: no window view
        ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
        taps = (
            x[:, :, i : i + (ho - 1) * sh + 1 : sh, j : j + (wo - 1) * sw + 1 : sw]
            for i in range(kh)
            for j in range(kw)
        )
        out = next(taps).copy()
        for tap in taps:
            np.maximum(out, tap, out=out)
        return out
    fill = -np.inf if mode == "max" else 0
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return windows.max(axis=(-2, -1)) if mode == "max" else windows.mean(axis=(-2, -1))


def apply_node(node: Node, xs: list[np.ndarray], dtype) -> np.ndarray:
    """One node over a batch ``[M, ...]`` (M = T·N, or N for time-invariant values)."""
    a, attrs = node.arrays, node.attrs
    if node.op in ("conv", "local"):
        x = xs[0] * a["in_scale"].astype(dtype) if node.op == "local" else xs[0]
        y = conv2d(x, a["weight"].astype(dtype), attrs.get("stride", 1), attrs.get("padding", 0))
        return y + a["bias"].astype(dtype)[:, None, None] if "bias" in a else y
    if node.op == "linear":
        y = xs[0] @ a["weight"].astype(dtype).T
        return y + a["bias"].astype(dtype) if "bias" in a else y
    if node.op in ("avgpool", "maxpool"):
        kernel = attrs["kernel"]
        return pool2d(
            xs[0], kernel, attrs.get("stride", kernel), attrs.get("padding", 0), node.op[:3]
        ).astype(dtype)
    if node.op == "add":
        return xs[0] + xs[1]
    if node.op == "scale":
        return xs[0] * a["scale"].astype(dtype)
    if node.op == "flatten":
        return xs[0].reshape(len(xs[0]), -1)
    raise GraphError(f"node {node.name!r}: op {node.op} is not applied per sample")


def run(
    graph: Graph,
    x: np.ndarray,
    timesteps: int | None = None,
    dtype=np.float32,
    keep: Iterable[str] | str = "lif",
    potentials: bool = False,
    inject: dict[str, np.ndarray] | None = None,
    apply: Callable[[Node, list[np.ndarray], np.dtype], np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Execute ``graph`` on a batch and return the kept nodes' outputs as ``[T, N, *shape]``.

    ``x`` is ``[N, *input_shape]`` (static, repeated over ``timesteps``) or
    ``[T, N, *input_shape]`` (events). ``keep`` is ``"lif"`` (every LIF's spikes), ``"all"``,
    or node names; the output node (time-averaged logits ``[N, classes]``) is always returned
    under its name. With ``potentials``, each LIF's membrane potential before reset is returned
    as ``NAME:u``. ``inject`` maps node names to ``[T, N, *shape]`` outputs used instead of
    the computed ones, so each layer can be compared with another simulator on equal inputs.
    ``apply(node, inputs, dtype)`` replaces the arithmetic of every node other than input, LIF
    and output (a crossbar or reduced-precision model), keeping this loop's time handling.
    """
    apply = apply or apply_node
    dtype = np.dtype(dtype)
    x = np.asarray(x, dtype=dtype)
    shape = graph.input.shape
    if x.ndim == len(shape) + 1 and x.shape[1:] == shape:
        if timesteps is None:
            timesteps = int(graph.meta.get("timesteps", 0)) or None
        if timesteps is None or timesteps < 1:
            raise ValueError("a static input needs timesteps >= 1 (or graph.meta['timesteps'])")
        static = True
    elif x.ndim == len(shape) + 2 and x.shape[2:] == shape:
        timesteps, static = x.shape[0], False
    else:
        raise ValueError(
            f"graph input is {shape}: expected [N, {shape}] or [T, N, {shape}], got {x.shape}"
        )
    n = x.shape[0] if static else x.shape[1]
    keep_all = keep == "all"
    wanted = (
        {m.name for m in graph if m.op == "lif"} if keep == "lif" else set(() if keep_all else keep)
    )
    unknown = wanted - set(graph.nodes)
    if unknown:
        raise GraphError(f"cannot keep unknown node(s) {sorted(unknown)}")
    remaining = {name: len(graph.consumers(name)) for name in graph.nodes}
    # values: name -> (array, time_invariant); time-varying arrays are [T*N, ...]
    values: dict[str, tuple[np.ndarray, bool]] = {}
    results: dict[str, np.ndarray] = {}

    def as_sequence(arr: np.ndarray, invariant: bool) -> np.ndarray:
        if invariant:
            return np.broadcast_to(arr, (timesteps, *arr.shape))
        return arr.reshape(timesteps, n, *arr.shape[1:])

    for node in graph:
        if node.op == "input":
            out, invariant = (x, True) if static else (x.reshape(-1, *shape), False)
        elif node.op == "lif":
            inp, inv = values[node.inputs[0]]
            spikes, u = lif_run(
                np.ascontiguousarray(as_sequence(inp, inv)),
                dtype.type(node.attrs["tau"]),
                dtype.type(node.attrs["v_th"]),
            )
            out, invariant = spikes.reshape(-1, *node.shape), False
            if potentials:
                results[f"{node.name}:u"] = u
        elif node.op == "output":
            inp, inv = values[node.inputs[0]]
            out, invariant = as_sequence(inp, inv).mean(axis=0), True
            results[node.name] = out
        else:
            ins = [values[i] for i in node.inputs]
            if len({inv for _, inv in ins}) == 1:
                out, invariant = apply(node, [v for v, _ in ins], dtype), ins[0][1]
            else:  # mixing a time-invariant and a time-varying input: broadcast over T first
                arrays = [
                    np.broadcast_to(v, (timesteps, *v.shape)).reshape(-1, *v.shape[1:])
                    if inv
                    else v
                    for v, inv in ins
                ]
                out, invariant = apply(node, arrays, dtype), False
        if inject and node.name in inject:  # replace a node's output: check layers in isolation
            out, invariant = np.asarray(inject[node.name], dtype).reshape(-1, *node.shape), False
        values[node.name] = (out, invariant)
        if node.op != "output" and (keep_all or node.name in wanted):
            results[node.name] = np.ascontiguousarray(as_sequence(out, invariant))
        for name in node.inputs:
            remaining[name] -= 1
            if remaining[name] == 0:
                del values[name]
    return results
