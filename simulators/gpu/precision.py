"""The folded network at the GPU preset's dtype: what reduced precision does to accuracy.

Emulated in numpy through the ideal executor's loop (:func:`simulators.executor.run`):

- ``bf16`` / ``fp16``: weights, biases, scales and every weighted layer's input are rounded to the
  format (round to nearest even), products are accumulated in float32, as tensor cores do
  (fp32 accumulate); the LIF runs in float32 on the rounded layer outputs (rounded to the format
  again, as a kernel storing its output in that dtype would).
- ``int8``: weights quantized per output channel, symmetric (``scale_o = max|W_o| / 127``);
  binary spikes are exact; a real-valued input is quantized per tensor, symmetric
  (``scale = max|x| / 127`` over the calibration images); accumulation in int32 (exact here:
  float64 of integers), dequantized to float32.
- ``fp32`` / ``tf32``: float32 (tf32's 10-bit mantissa inputs are rounded like bf16 to 10 bits).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from simulators import executor
from simulators.ir import WEIGHTED_OPS, Graph, Node

MANTISSA_BITS = {"bf16": 7, "fp16": 10, "tf32": 10, "fp32": 23}
DTYPES = (*MANTISSA_BITS, "int8")


def round_mantissa(x: np.ndarray, bits: int) -> np.ndarray:
    """Round float32 values to ``bits`` mantissa bits (nearest, ties to even), float32 range."""
    x = np.asarray(x, np.float32)
    if bits >= 23:
        return x.copy()
    raw = x.view(np.uint32)
    drop = 23 - bits
    half = np.uint32((1 << (drop - 1)) - 1) + ((raw >> np.uint32(drop)) & np.uint32(1))
    return ((raw + half) & ~np.uint32((1 << drop) - 1)).view(np.float32)


def to_format(x: np.ndarray, dtype: str) -> np.ndarray:
    """Values as stored in ``dtype`` (fp16 with its own range: overflow → inf, subnormals)."""
    if dtype == "fp16":
        return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)
    return round_mantissa(x, MANTISSA_BITS[dtype])


class Precision:
    """An ``apply`` for :func:`simulators.executor.run` computing at one GPU dtype."""

    def __init__(self, graph: Graph, dtype: str, calibration: np.ndarray | None = None) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"unknown GPU dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
        self.graph, self.dtype = graph, dtype
        self.input_scales: dict[str, float] = {}
        real = {
            n.name: n.inputs[0]
            for n in graph
            if n.op in WEIGHTED_OPS and not graph.is_spiking(n.inputs[0])
        }
        if dtype == "int8" and real:
            if calibration is None:
                raise ValueError("int8 needs calibration images to scale its real-valued inputs")
            values = executor.run(graph, calibration, keep=set(real.values()))
            self.input_scales = {
                name: max(float(np.abs(values[src]).max()), 1e-30) / 127
                for name, src in real.items()
            }
        self.nodes = {n.name: self._stored(n) for n in graph}

    def _stored(self, node: Node) -> Node:
        """The node with its arrays as the GPU stores them."""
        arrays = dict(node.arrays)
        if self.dtype == "int8" and "weight" in arrays:
            w = arrays["weight"].astype(np.float64)
            flat = np.abs(w.reshape(len(w), -1)).max(1)
            scale = np.where(flat > 0, flat / 127, 1.0).reshape(-1, *[1] * (w.ndim - 1))
            arrays["weight"] = np.clip(np.rint(w / scale), -127, 127) * scale
        elif self.dtype != "int8":
            arrays = {k: to_format(v, self.dtype) for k, v in arrays.items()}
        return Node(node.name, node.op, node.inputs, node.shape, node.attrs, arrays)

    def apply(self, node: Node, xs: list[np.ndarray], dtype) -> np.ndarray:
        stored = self.nodes[node.name]
        if node.op not in WEIGHTED_OPS:
            out = executor.apply_node(stored, xs, dtype)
            return out if self.dtype == "int8" else to_format(out, self.dtype)
        x = xs[0]
        if self.dtype == "int8":
            step = self.input_scales.get(node.name)
            if step is not None:
                x = np.clip(np.rint(x / step), -127, 127) * step
            return executor.apply_node(stored, [x], np.float64).astype(dtype)
        return to_format(executor.apply_node(stored, [to_format(x, self.dtype)], dtype), self.dtype)


def run(
    graph: Graph,
    x: np.ndarray,
    dtype: str,
    calibration: np.ndarray | None = None,
    keep: Iterable[str] | str = "lif",
) -> dict[str, np.ndarray]:
    """The executor's outputs with every node computed at the GPU ``dtype`` (see the module)."""
    return executor.run(graph, x, keep=keep, apply=Precision(graph, dtype, calibration).apply)
