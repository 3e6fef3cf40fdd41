"""Functional crossbar mode: run a folded IR graph the way the CIM chip computes it.

:func:`program` writes every weighted layer into crossbar cells (quantized, sliced, signed, with
the preset's seeded device effects; conventions in :mod:`simulators.cim.functional_cells`) and
fixes the scale of every real-valued input from calibration images; :func:`run` then executes
the graph with the ideal executor's loop (:func:`simulators.executor.run`: time-invariant stem
computed once, LIF in digital with :func:`simulators.lif.lif_run`), except that each weighted
layer sums its rows crossbar by crossbar (the mapping's row blocks, ``crossbar_rows`` each,
im2col or kernel-split), converts every column's partial sum with the ADC, and shifts and adds
slices, column sets and input bits digitally. Real inputs are fed bit-serially with as many
bits as the mapping charges (:attr:`LayerMapping.passes`). Pools, adds and scales are digital
and exact; the digital accumulation is in the run's dtype (float32 by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulators import executor
from simulators.cim import functional_cells as cells
from simulators.cim.config import CimConfig, resolve
from simulators.cim.mapping import LayerMapping, map_layer
from simulators.ir import WEIGHTED_OPS, Graph, Node

# partial sums held at once per conversion unit (elements): bounds memory, keeps cache use high
_CHUNK_ELEMENTS = 1 << 20
# cells programmed per layer at most (float32: 2 GiB)
_MAX_CELLS = 1 << 29


@dataclass(frozen=True)
class CrossbarLayer:
    """One weighted layer written into cells. Rows follow the mapping's order: ``(c, i, j)``
    for im2col, ``(i, j, c)`` for kernel-split; columns are ``(column set × slice, output)``."""

    mapping: LayerMapping
    cells: np.ndarray  # [R, K·O] shared, [positions, R, K·O] unshared; unit currents
    units: tuple[tuple[tuple[int, int], ...], ...]  # row ranges summed before one conversion
    steps: tuple[float, ...]  # ADC LSB of each conversion unit
    column_weights: np.ndarray  # [K] shift-and-add weights
    weights: cells.WeightCode
    input_scale: float  # real value of one input step (1 for binary spikes)
    input_bit_weights: np.ndarray  # [bits] weight of each bit-serial pass ([1.0] for spikes)
    bias: np.ndarray | None

    @property
    def outputs(self) -> int:
        return self.mapping.out_shape[0]


@dataclass
class FunctionalChip:
    """A graph programmed into crossbars: call :func:`run` to compute with it."""

    graph: Graph
    config: CimConfig
    seed: int
    layers: dict[str, CrossbarLayer] = field(default_factory=dict)

    def apply(self, node: Node, xs: list[np.ndarray], dtype) -> np.ndarray:
        layer = self.layers.get(node.name)
        if layer is None:
            return executor.apply_node(node, xs, dtype)
        return _crossbar_layer(layer, xs[0], self.config, dtype)


def _conversion_units(m: LayerMapping, config: CimConfig) -> list[list[tuple[int, int]]]:
    """Row ranges of each row block, grouped into the units an ADC converts together."""
    blocks, start = [], 0
    cin, taps = m.in_shape[0], m.kernel[0] * m.kernel[1]
    for b, rows in enumerate(m.block_rows):
        if config.mapping == "im2col":
            blocks.append((start, start + rows))
            start += rows
        else:  # block (channel block, tap) of a (tap, channel) row order
            first = (b % taps) * cin + (b // taps) * config.crossbar_rows
            blocks.append((first, first + rows))
    per_unit = config.crossbars_per_pe if config.pe_accumulation == "analog" else 1
    return [blocks[i : i + per_unit] for i in range(0, len(blocks), per_unit)]


def _rows_last(kernels: np.ndarray, config: CimConfig) -> np.ndarray:
    """``[..., O, C, kh, kw]`` kernels as ``[..., R, O]`` in the mapping's row order."""
    lead = kernels.ndim - 4
    order = (1, 2, 3) if config.mapping == "im2col" else (2, 3, 1)
    moved = kernels.transpose(*range(lead), *(lead + a for a in order), lead)
    return moved.reshape(*kernels.shape[:lead], -1, kernels.shape[lead])


def _local_kernels(node: Node) -> np.ndarray:
    """Every position's kernel ``in_scale-window · weight``, ``[positions, O, C, kh, kw]``."""
    weight, scale = node.arrays["weight"], node.arrays["in_scale"]
    (sh, sw), (ph, pw) = node.attrs.get("stride", [1, 1]), node.attrs.get("padding", [0, 0])
    padded = np.pad(scale, ((0, 0), (ph, ph), (pw, pw)))
    win = np.lib.stride_tricks.sliding_window_view(padded, weight.shape[2:], axis=(1, 2))
    win = win[:, ::sh, ::sw][:, : node.shape[1], : node.shape[2]]  # [C, Ho, Wo, kh, kw]
    win = win.transpose(1, 2, 0, 3, 4).reshape(-1, 1, *weight.shape[1:])
    return win * weight[None]


def _program_layer(
    graph: Graph,
    node: Node,
    config: CimConfig,
    rng: np.random.Generator,
    input_range: tuple[float, bool] | None,
    dtype,
) -> CrossbarLayer:
    count = node.weight_count * config.columns_per_weight
    if count > _MAX_CELLS:
        raise ValueError(
            f"layer {node.name!r} ({node.op}) needs {count:.3g} crossbar cells, more than the "
            f"functional mode holds in memory ({_MAX_CELLS:.3g}); unshared layers store one "
            "kernel per position: use a smaller network or shared (channel-wise) kernels"
        )
    m = map_layer(graph, node, config, 0)
    weight = node.arrays["weight"]
    if node.op == "linear":
        weight = weight[:, :, None, None]
    kernels = _local_kernels(node) if node.op == "local" else weight
    levels, code = cells.quantize_weights(kernels, config)
    digits = cells.cell_digits(_rows_last(levels, config), code, config)  # [..., R, K, O]
    stored = cells.conductances(digits, config, rng, dtype)
    units = _conversion_units(m, config)
    if input_range is None:
        input_scale, bit_weights = 1.0, np.ones(1)
    else:
        input_scale, bit_weights = cells.input_code(*input_range, m.passes)
    return CrossbarLayer(
        mapping=m,
        cells=np.ascontiguousarray(stored.reshape(*stored.shape[:-2], -1)),
        units=tuple(tuple(u) for u in units),
        steps=tuple(cells.adc_step(sum(b - a for a, b in u), config) for u in units),
        column_weights=cells.column_weights(code, config),
        weights=code,
        input_scale=input_scale,
        input_bit_weights=bit_weights,
        bias=node.arrays.get("bias"),
    )


def _input_ranges(
    graph: Graph, calibration: np.ndarray, timesteps: int | None
) -> dict[str, tuple[float, bool]]:
    """Peak magnitude and sign of every real-valued (not spike) input of a weighted layer."""
    real = {
        n.name: n.inputs[0]
        for n in graph
        if n.op in WEIGHTED_OPS and not graph.is_spiking(n.inputs[0])
    }
    inner = set(real.values()) - {graph.input.name}
    values = executor.run(graph, calibration, timesteps, keep=inner) if inner else {}
    if graph.input.name in real.values():  # the image itself: no need to run the network
        values[graph.input.name] = np.asarray(calibration)
    return {
        name: (float(np.abs(values[src]).max()), bool(values[src].min() < 0))
        for name, src in real.items()
    }


def program(
    graph: Graph,
    config: CimConfig | str | Path,
    calibration: np.ndarray,
    seed: int = 0,
    timesteps: int | None = None,
    dtype=np.float32,
) -> FunctionalChip:
    """Write ``graph`` into crossbars of ``config`` (a preset name, path or config).

    ``calibration`` (inputs as :func:`simulators.executor.run` takes them) fixes the scale of
    every real-valued layer input: its largest magnitude maps to the largest input code.
    ``seed`` draws the device effects (variation, stuck cells) layer by layer in graph order.
    """
    config, _ = resolve(config)
    ranges = _input_ranges(graph, calibration, timesteps)
    rng = np.random.default_rng(seed)
    chip = FunctionalChip(graph, config, seed)
    for node in graph:
        if node.op in WEIGHTED_OPS:
            chip.layers[node.name] = _program_layer(
                graph, node, config, rng, ranges.get(node.name), dtype
            )
    return chip


def run(
    chip: FunctionalChip,
    x: np.ndarray,
    timesteps: int | None = None,
    keep: Iterable[str] | str = "lif",
    dtype=np.float32,
) -> dict[str, np.ndarray]:
    """Execute the programmed graph on a batch; arguments and outputs as
    :func:`simulators.executor.run` (``[T, N, *shape]`` per kept node, logits under the output
    node's name)."""
    return executor.run(chip.graph, x, timesteps, dtype, keep, apply=chip.apply)


def _columns(x: np.ndarray, m: LayerMapping, mapping: str) -> np.ndarray:
    """Crossbar row inputs ``[N, positions, R]`` (im2col) in the mapping's row order."""
    if m.op == "linear":
        return x.reshape(len(x), 1, -1)
    (kh, kw), (sh, sw), (ph, pw) = m.kernel, m.stride, m.padding
    (ho, wo), c = m.out_shape[1:], m.in_shape[0]
    x = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), (ph, ph), (pw, pw), (0, 0)))  # channels last
    cols = np.empty(
        (len(x), ho, wo, c, kh, kw) if mapping == "im2col" else (len(x), ho, wo, kh, kw, c), x.dtype
    )
    for i in range(kh):
        for j in range(kw):
            tap = x[:, i : i + ho * sh : sh, j : j + wo * sw : sw]
            if mapping == "im2col":
                cols[..., i, j] = tap
            else:
                cols[:, :, :, i, j] = tap
    return cols.reshape(len(x), ho * wo, c * kh * kw)


def _bit_planes(
    cols: np.ndarray, layer: CrossbarLayer, dtype
) -> tuple[list[np.ndarray], np.ndarray]:
    """Bit-serial passes of the inputs (one pass of 0/1 for spikes) and their integer values."""
    if layer.mapping.binary_input:
        return [cols.astype(dtype, copy=False)], cols
    bits = len(layer.input_bit_weights)
    signed = layer.input_bit_weights[-1] < 0
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    ints = np.clip(np.rint(cols / layer.input_scale), low, high).astype(np.int64)
    unsigned = ints % (2**bits)
    planes = [((unsigned >> j) & 1).astype(dtype) for j in range(bits)]
    return planes, ints.astype(dtype)


def _crossbar_layer(layer: CrossbarLayer, x: np.ndarray, config: CimConfig, dtype) -> np.ndarray:
    """One weighted layer on the crossbars: ``[N, ...]`` in, ``[N, O, Ho, Wo]`` (or ``[N, O]``)."""
    m = layer.mapping
    n, positions = len(x), m.out_shape[1] * m.out_shape[2]
    cols = _columns(x, m, config.mapping)  # [N, P, R]
    planes, ints = _bit_planes(cols, layer, dtype)
    outputs = layer.outputs
    acc = np.zeros((n, positions, outputs), dtype)
    kinds = len(layer.column_weights)
    for plane, bit_weight in zip(planes, layer.input_bit_weights, strict=True):
        for unit, step in zip(layer.units, layer.steps, strict=True):
            weights = (layer.column_weights * (bit_weight * step)).astype(dtype)
            if m.shared:
                _shared_unit(plane, layer.cells, unit, step, weights, config.adc_bits, acc, kinds)
            else:
                _unshared_unit(plane, layer.cells, unit, step, weights, config.adc_bits, acc, kinds)
    if layer.weights.offset:
        acc -= layer.weights.offset * ints.sum(-1, dtype=dtype)[..., None]
    acc *= layer.weights.scale * layer.input_scale
    if layer.bias is not None:
        acc += layer.bias.astype(dtype)
    if m.op == "linear":
        return acc.reshape(n, outputs)
    return acc.transpose(0, 2, 1).reshape(n, outputs, *m.out_shape[1:])


def _shared_unit(plane, stored, unit, step, weights, adc_bits, acc, kinds) -> None:
    """Partial sums of one conversion unit over every position, converted and shifted-added."""
    rows_in = plane.reshape(-1, plane.shape[-1])
    out = acc.reshape(-1, acc.shape[-1])
    chunk = max(1, _CHUNK_ELEMENTS // stored.shape[-1])
    for s in range(0, len(rows_in), chunk):
        sums = sum(rows_in[s : s + chunk, a:b] @ stored[a:b] for a, b in unit)
        cells.convert(sums, step, adc_bits)
        out[s : s + chunk] += np.einsum("mko,k->mo", sums.reshape(len(sums), kinds, -1), weights)


def _unshared_unit(plane, stored, unit, step, weights, adc_bits, acc, kinds) -> None:
    """As :func:`_shared_unit`, every position with its own crossbars (batched over positions)."""
    by_position = plane.transpose(1, 0, 2)  # [P, N, R]
    chunk = max(1, _CHUNK_ELEMENTS // (stored.shape[-1] * len(plane)))
    for s in range(0, stored.shape[0], chunk):
        sums = sum(by_position[s : s + chunk, :, a:b] @ stored[s : s + chunk, a:b] for a, b in unit)
        cells.convert(sums, step, adc_bits)
        acc[:, s : s + chunk] += np.einsum(
            "pnko,k->npo", sums.reshape(*sums.shape[:2], kinds, -1), weights
        )
