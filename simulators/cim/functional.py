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

The ADC range is a named policy (``adc_range``): ``calibrated`` (default, as NeuroSim's
``LinearQuantizeOut`` and MNSIM's ``SCALE`` mode) sets every conversion unit's and cell
slice's full scale from the ``adc_range_percentile`` of its partial sums on the calibration
images (the training split's: never the test images), running them through the ideal network;
``fixed`` spans the theoretical maximum (the worst case). Every run counts its conversions and
the clipped ones per layer (:attr:`FunctionalChip.conversions`, :attr:`FunctionalChip.clipped`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator
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
# calibration images run at once: bounds the unrolled inputs a layer holds
_CALIBRATION_BATCH = 16
# cells programmed per layer at most (float32: 2 GiB)
_MAX_CELLS = 1 << 29


@dataclass(frozen=True)
class CrossbarLayer:
    """One weighted layer written into cells. Rows follow the mapping's order: ``(c, i, j)``
    for im2col, ``(i, j, c)`` for kernel-split; columns are ``(column set × slice, output)``."""

    mapping: LayerMapping
    cells: np.ndarray  # [R, K·O] shared, [positions, R, K·O] unshared; unit currents
    units: tuple[tuple[tuple[int, int], ...], ...]  # row ranges summed before one conversion
    steps: tuple[np.ndarray, ...]  # ADC LSB of each conversion unit, per converted kind [K']
    column_weights: np.ndarray  # [K'] shift-and-add weights of the converted kinds
    weights: cells.WeightCode
    input_scale: float  # real value of one input step (1 for binary spikes)
    input_bit_weights: np.ndarray  # [bits] weight of each bit-serial pass ([1.0] for spikes)
    bias: np.ndarray | None
    full_scales: tuple[np.ndarray, ...] = ()  # calibrated full scale per unit and kind

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
    calibration_sha256: str = ""  # of the calibration inputs' bytes (shape and dtype included)
    conversions: dict[str, int] = field(default_factory=dict)  # per layer, over every run
    clipped: dict[str, int] = field(default_factory=dict)

    def apply(self, node: Node, xs: list[np.ndarray], dtype) -> np.ndarray:
        layer = self.layers.get(node.name)
        if layer is None:
            return executor.apply_node(node, xs, dtype)
        out, conversions, clipped = _crossbar_layer(layer, xs[0], self.config, dtype)
        self.conversions[node.name] = self.conversions.get(node.name, 0) + conversions
        self.clipped[node.name] = self.clipped.get(node.name, 0) + clipped
        return out

    def adc_ranges(self) -> dict[str, list[list[float]]]:
        """The chosen full scales (unit currents), per layer, conversion unit and converted
        kind (cell slice): what a calibrated run is saved and keyed with (empty if fixed)."""
        return {
            name: [[float(v) for v in unit] for unit in layer.full_scales]
            for name, layer in self.layers.items()
            if layer.full_scales
        }

    def clip_fraction(self) -> float:
        """Clipped conversions over all conversions of the runs so far."""
        total = sum(self.conversions.values())
        return sum(self.clipped.values()) / total if total else 0.0


def _conversion_units(m: LayerMapping, config: CimConfig) -> list[list[tuple[int, int]]]:
    """Row ranges converted together: a row group (``parallel_rows`` rows; all by default) of
    each row block, the blocks of a PE grouped when its sums are analog."""
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
    group = config.parallel_rows or config.crossbar_rows
    units = []
    for i in range(0, len(blocks), per_unit):
        crossbars = blocks[i : i + per_unit]
        for g in range(0, max(b - a for a, b in crossbars), group):
            units.append([(a + g, min(b, a + g + group)) for a, b in crossbars if a + g < b])
    return units


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
    weights = cells.column_weights(code, config)
    if config.signed_conversion:  # a pair's two columns become one signed conversion
        weights = weights[: config.slices]
    if input_range is None:
        input_scale, bit_weights = 1.0, np.ones(1)
    else:
        input_scale, bit_weights = cells.input_code(*input_range, m.passes)
    return CrossbarLayer(
        mapping=m,
        cells=np.ascontiguousarray(stored.reshape(*stored.shape[:-2], -1)),
        units=tuple(tuple(u) for u in units),
        steps=tuple(
            np.full(len(weights), cells.adc_step(sum(b - a for a, b in u), config)) for u in units
        ),
        column_weights=weights,
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
    With ``adc_range = "calibrated"`` the same images set every ADC's full scale
    (:func:`calibrate`): pass training images, never the ones accuracy is measured on.
    """
    config, _ = resolve(config)
    ranges = _input_ranges(graph, calibration, timesteps)
    rng = np.random.default_rng(seed)
    digest = hashlib.sha256(np.ascontiguousarray(calibration).tobytes())
    digest.update(repr((np.shape(calibration), str(np.asarray(calibration).dtype))).encode())
    chip = FunctionalChip(graph, config, seed, calibration_sha256=digest.hexdigest())
    for node in graph:
        if node.op in WEIGHTED_OPS:
            chip.layers[node.name] = _program_layer(
                graph, node, config, rng, ranges.get(node.name), dtype
            )
    if config.adc_range == "calibrated":
        calibrate(chip, calibration, timesteps, dtype)
    return chip


def calibrate(chip: FunctionalChip, calibration: np.ndarray, timesteps: int | None, dtype) -> None:
    """Set every ADC's full scale from the calibration images: each weighted layer sees the
    ideal network's inputs, and each conversion unit and cell slice takes the
    ``adc_range_percentile`` (the next-higher sample: at most ``100 - percentile`` % of the
    calibration sums lie above it) of its partial sums on the programmed cells. Images go
    through in batches of ``_CALIBRATION_BATCH`` (a layer's unrolled inputs are held at once)."""
    calibration = np.asarray(calibration)
    static = calibration.ndim == len(chip.graph.input.shape) + 1
    images = calibration.shape[0 if static else 1]
    tops: dict[str, list[list[np.ndarray]]] = {}
    for s in range(0, images, _CALIBRATION_BATCH):
        batch = (
            calibration[s : s + _CALIBRATION_BATCH]
            if static
            else calibration[:, s : s + _CALIBRATION_BATCH]
        )
        share = images / batch.shape[0 if static else 1]  # all images over this batch's

        def probe(node: Node, xs: list[np.ndarray], kind, share=share) -> np.ndarray:
            layer = chip.layers.get(node.name)
            if layer is not None:
                tops[node.name] = _gather(
                    layer, xs[0], chip.config, kind, share, tops.get(node.name)
                )
            return executor.apply_node(node, xs, kind)

        executor.run(chip.graph, batch, timesteps, dtype, keep=(), apply=probe)
    for name, top in tops.items():
        full_scales = tuple(np.array([float(t.min()) for t in unit]) for unit in top)
        steps = tuple(
            np.array([cells.calibrated_step(v, chip.config) for v in unit]) for unit in full_scales
        )
        chip.layers[name] = dataclasses.replace(
            chip.layers[name], steps=steps, full_scales=full_scales
        )


def _largest(values: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` largest of ``values`` (unordered)."""
    if len(values) <= count:
        return values
    return np.partition(values, len(values) - count)[len(values) - count :]


def _gather(
    layer: CrossbarLayer,
    x: np.ndarray,
    config: CimConfig,
    dtype,
    share: float,
    top: list[list[np.ndarray]] | None,
) -> list[list[np.ndarray]]:
    """The largest partial sums per conversion unit and kind, merged into ``top``: exact and
    bounded in memory, only the ``n - ceil((n - 1) · q)`` largest of all ``n`` calibration
    sums are kept (``n``: this batch's count × ``share``)."""
    m = layer.mapping
    planes, _ = _bit_planes(_columns(x, m, config.mapping), layer, dtype)
    kinds = len(layer.column_weights)
    positions = m.out_shape[1] * m.out_shape[2]
    samples = round(share * len(planes) * len(x) * positions * layer.outputs)
    keep = samples - int(np.ceil((samples - 1) * config.adc_range_percentile / 100))
    top = top or [[np.empty(0, dtype)] * kinds for _ in layer.units]
    for unit, best in zip(layer.units, top, strict=True):
        for plane in planes:
            for _, sums in _unit_sums(plane, layer.cells, unit, m.shared):
                values = _as_converted(sums, layer, config)
                if config.signed_conversion:
                    values = np.abs(values)
                for k in range(kinds):
                    best[k] = _largest(np.concatenate([best[k], values[..., k, :].ravel()]), keep)
    return top


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


def _crossbar_layer(
    layer: CrossbarLayer, x: np.ndarray, config: CimConfig, dtype
) -> tuple[np.ndarray, int, int]:
    """One weighted layer on the crossbars: ``[N, ...]`` in, ``[N, O, Ho, Wo]`` (or ``[N, O]``)
    out, with its conversions and how many of them clipped."""
    m = layer.mapping
    n, positions = len(x), m.out_shape[1] * m.out_shape[2]
    cols = _columns(x, m, config.mapping)  # [N, P, R]
    planes, ints = _bit_planes(cols, layer, dtype)
    outputs = layer.outputs
    acc = np.zeros((n, positions, outputs), dtype)
    flat = acc.reshape(-1, outputs)
    top, signed = cells.code_top(config), config.signed_conversion
    conversions = clipped = 0
    for plane, bit_weight in zip(planes, layer.input_bit_weights, strict=True):
        for unit, step in zip(layer.units, layer.steps, strict=True):
            weights = (layer.column_weights * bit_weight * step).astype(dtype)
            for s, sums in _unit_sums(plane, layer.cells, unit, m.shared):
                codes = _as_converted(sums, layer, config)
                clipped += cells.convert_counting(codes, step[:, None], top, signed)
                conversions += codes.size
                if m.shared:
                    flat[s : s + len(codes)] += np.einsum("mko,k->mo", codes, weights)
                else:
                    acc[:, s : s + len(codes)] += np.einsum("pnko,k->npo", codes, weights)
    if layer.weights.offset:
        acc -= layer.weights.offset * ints.sum(-1, dtype=dtype)[..., None]
    acc *= layer.weights.scale * layer.input_scale
    if layer.bias is not None:
        acc += layer.bias.astype(dtype)
    if m.op == "linear":
        return acc.reshape(n, outputs), conversions, clipped
    return acc.transpose(0, 2, 1).reshape(n, outputs, *m.out_shape[1:]), conversions, clipped


def _unit_sums(
    plane: np.ndarray, stored: np.ndarray, unit, shared: bool
) -> Iterator[tuple[int, np.ndarray]]:
    """Partial sums ``[m, K·O]`` (shared: rows of ``N·P``) or ``[p, N, K·O]`` (unshared: per
    position) of one conversion unit, chunk by chunk with the chunk's first index."""
    if shared:
        rows_in = plane.reshape(-1, plane.shape[-1])
        chunk = max(1, _CHUNK_ELEMENTS // stored.shape[-1])
        for s in range(0, len(rows_in), chunk):
            yield s, _summed(lambda a, b, s=s: rows_in[s : s + chunk, a:b] @ stored[a:b], unit)
    else:
        by_position = plane.transpose(1, 0, 2)  # [P, N, R]
        chunk = max(1, _CHUNK_ELEMENTS // (stored.shape[-1] * len(plane)))
        for s in range(0, stored.shape[0], chunk):
            yield (
                s,
                _summed(
                    lambda a, b, s=s: (
                        by_position[s : s + chunk, :, a:b] @ stored[s : s + chunk, a:b]
                    ),
                    unit,
                ),
            )


def _summed(product, unit) -> np.ndarray:
    """The sum of ``product(a, b)`` over the unit's row ranges, accumulated in place."""
    (a, b), *rest = unit
    total = product(a, b)
    for a, b in rest:
        total += product(a, b)
    return total


def _as_converted(sums: np.ndarray, layer: CrossbarLayer, config: CimConfig) -> np.ndarray:
    """Column sums ``[..., K·O]`` as the ADC's inputs ``[..., K', O]``: a differential pair's
    columns subtracted first when the preset subtracts them before the ADC."""
    kinds = sums.reshape(*sums.shape[:-1], -1, layer.outputs)
    if config.signed_conversion:
        return kinds[..., : config.slices, :] - kinds[..., config.slices :, :]
    return kinds
