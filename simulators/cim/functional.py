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

Speed, none of it changing a result: a batch runs through one programmed chip at once; each
layer's row inputs are unrolled a few images at a time (bounded memory at any batch), and those
parts run in as many threads as ``OMP_NUM_THREADS`` (else the CPUs), one BLAS thread each;
where the cells hold integer digits (no variation, no finite on/off ratio) two cell slices share
one matmul operand (:func:`_column_groups`), which halves the multiply-adds and splits exactly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from simulators import executor
from simulators.cim import functional_cells as cells
from simulators.cim.config import CimConfig, resolve
from simulators.cim.mapping import LayerMapping, map_layer
from simulators.ir import WEIGHTED_OPS, Graph, Node

T = TypeVar("T")

# partial sums held at once per conversion unit (elements): bounds memory, keeps cache use high
_CHUNK_ELEMENTS = 1 << 20
# crossbar row inputs (im2col) built at once per layer (elements): a batch of any size runs in
# bounded memory (ResNet19's 500 images x 4 steps would otherwise unroll 9.4 GB per layer)
_ROW_INPUT_ELEMENTS = 1 << 21
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
    # the cells as the run multiplies them, ``[..., R, O]`` each: one column kind per group, or
    # kinds j and j + K//2 packed as ``c_j + 2^pack_shift · c_{j+K//2}`` (:func:`_column_groups`)
    groups: tuple[np.ndarray, ...] = ()
    pack_shift: int = 0

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
    pack: bool = True,
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
    flat = np.ascontiguousarray(stored.reshape(*stored.shape[:-2], -1))
    groups, shift = _column_groups(stored, units, config, dtype, pack)
    return CrossbarLayer(
        mapping=m,
        cells=flat,
        groups=groups,
        pack_shift=shift,
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


def _column_groups(
    stored: np.ndarray, units, config: CimConfig, dtype, pack: bool = True
) -> tuple[tuple[np.ndarray, ...], int]:
    """The cells ``[..., R, K, O]`` as contiguous ``[..., R, O]`` matmul operands, and the pack
    shift ``s`` (0: one kind per operand). Ideal and stuck cells hold integer digits ``0..L``,
    so a unit's sum over its rows is an integer of at most ``rows · L < 2^s``: the operand
    ``c_j + 2^s · c_{j+K//2}`` sums both kinds at once, exactly while ``2s`` does not exceed
    the dtype's significand (24 bits in float32; a unit of 128 rows of 2-bit cells needs 18).
    Half the multiply-adds for the same sums (:func:`_kind_sums` splits them). Variation and a
    finite on/off ratio make the cells real-valued: those layers keep one kind per operand."""
    kinds = [np.ascontiguousarray(stored[..., k, :]) for k in range(stored.shape[-2])]
    if not pack or len(kinds) < 2 or config.cell_variation_sigma or config.on_off_ratio:
        return tuple(kinds), 0
    most = max(sum(b - a for a, b in unit) for unit in units) * (2**config.bits_per_cell - 1)
    shift = int(most).bit_length()  # 2^shift > most
    if 2 * shift > np.finfo(dtype).nmant + 1:
        return tuple(kinds), 0
    half = len(kinds) // 2
    packed = [kinds[j] + dtype(2.0**shift) * kinds[j + half] for j in range(half)]
    return tuple(packed + kinds[2 * half :]), shift


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
    pack: bool = True,
) -> FunctionalChip:
    """Write ``graph`` into crossbars of ``config`` (a preset name, path or config).

    ``calibration`` (inputs as :func:`simulators.executor.run` takes them) fixes the scale of
    every real-valued layer input: its largest magnitude maps to the largest input code.
    ``seed`` draws the device effects (variation, stuck cells) layer by layer in graph order.
    With ``adc_range = "calibrated"`` the same images set every ADC's full scale
    (:func:`calibrate`): pass training images, never the ones accuracy is measured on.
    ``pack=False`` keeps one column kind per matmul operand even where two fit exactly
    (:func:`_column_groups`): the same results, about 1.5x slower; for the speed benchmark.
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
                graph, node, config, rng, ranges.get(node.name), dtype, pack
            )
    if config.adc_range == "calibrated":
        calibrate(chip, calibration, timesteps, dtype)
    return chip


def calibrate(chip: FunctionalChip, calibration: np.ndarray, timesteps: int | None, dtype) -> None:
    """Set every ADC's full scale from the calibration images: each weighted layer sees the
    ideal network's inputs, and each conversion unit and cell slice takes the
    ``adc_range_percentile`` (the next-higher sample: at most ``100 - percentile`` % of the
    calibration sums lie above it) of its partial sums on the programmed cells. Images go
    through in batches of ``_CALIBRATION_BATCH`` (a layer's unrolled inputs are held at once),
    the batches in :func:`_workers` threads; each keeps its own largest sums, merged at the end
    (the largest of a union do not depend on the order, so neither do the ranges)."""
    calibration = np.asarray(calibration)
    static = calibration.ndim == len(chip.graph.input.shape) + 1
    images = calibration.shape[0 if static else 1]

    def batch_tops(s: int) -> dict[str, tuple[list[list[np.ndarray]], int]]:
        batch = (
            calibration[s : s + _CALIBRATION_BATCH]
            if static
            else calibration[:, s : s + _CALIBRATION_BATCH]
        )
        share = images / batch.shape[0 if static else 1]  # all images over this batch's
        tops: dict[str, tuple[list[list[np.ndarray]], int]] = {}

        def probe(node: Node, xs: list[np.ndarray], kind) -> np.ndarray:
            layer = chip.layers.get(node.name)
            if layer is not None:
                tops[node.name] = _gather(layer, xs[0], chip.config, kind, share)
            return executor.apply_node(node, xs, kind)

        executor.run(chip.graph, batch, timesteps, dtype, keep=(), apply=probe)
        return tops

    found = _in_workers(batch_tops, range(0, images, _CALIBRATION_BATCH))
    for name in found[0]:
        keep = found[0][name][1]
        top = found[0][name][0]
        for other in found[1:]:
            for unit, more in zip(top, other[name][0], strict=True):
                for k, values in enumerate(more):
                    unit[k] = _merge_largest(unit[k], values, keep)
        full_scales = tuple(np.array([float(t.min()) for t in unit]) for unit in top)
        steps = tuple(
            np.array([cells.calibrated_step(v, chip.config) for v in unit]) for unit in full_scales
        )
        chip.layers[name] = dataclasses.replace(
            chip.layers[name], steps=steps, full_scales=full_scales
        )


def _merge_largest(best: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` largest of ``best`` (already the ``count`` largest so far) and ``values``:
    only values above the smallest kept one can enter, so they are filtered first (most sums
    of a chunk are far below a 99.9th percentile) before the partition."""
    if len(best) >= count:
        values = values[values > best.min()]
        if not len(values):
            return best
    return _largest(np.concatenate([best, values]), count)


def _largest(values: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` largest of ``values`` (unordered)."""
    if len(values) <= count:
        return values
    return np.partition(values, len(values) - count)[len(values) - count :]


def _gather(
    layer: CrossbarLayer, x: np.ndarray, config: CimConfig, dtype, share: float
) -> tuple[list[list[np.ndarray]], int]:
    """The largest partial sums per conversion unit and kind of one batch, and how many to keep
    of all: exact and bounded in memory, only the ``n - ceil((n - 1) · q)`` largest of all
    ``n`` calibration sums are kept (``n``: this batch's count × ``share``)."""
    m = layer.mapping
    planes, _ = _bit_planes(_columns(x, m, config.mapping), layer, dtype)
    kinds = len(layer.column_weights)
    positions = m.out_shape[1] * m.out_shape[2]
    samples = round(share * len(planes) * len(x) * positions * layer.outputs)
    keep = samples - int(np.ceil((samples - 1) * config.adc_range_percentile / 100))
    top = [[np.empty(0, dtype)] * kinds for _ in layer.units]
    for unit, best in zip(layer.units, top, strict=True):
        for plane in planes:
            for _, sums in _unit_sums(plane, layer, unit):
                for k, values in enumerate(_as_converted(sums, config)):
                    values = np.abs(values) if config.signed_conversion else values
                    best[k] = _merge_largest(best[k], values.ravel(), keep)
    return top, keep


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
    return executor.unroll(x, m.kernel, m.stride, m.padding, taps_first=mapping != "im2col")


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
    out, with its conversions and how many of them clipped. The row inputs are unrolled a few
    images at a time (``_ROW_INPUT_ELEMENTS``), and those parts run in :func:`_workers` threads
    (numpy and BLAS release the GIL); neither changes a sum."""
    m = layer.mapping
    n, positions = len(x), m.out_shape[1] * m.out_shape[2]
    outputs = layer.outputs
    acc = np.zeros((n, positions, outputs), dtype)
    per = max(1, _ROW_INPUT_ELEMENTS // (positions * layer.cells.shape[-2]))

    def part(s: int) -> tuple[int, int]:
        return _accumulate(layer, x[s : s + per], config, dtype, acc[s : s + per])

    counts = _in_workers(part, range(0, n, per))
    conversions, clipped = (sum(c) for c in zip(*counts, strict=True))
    acc *= layer.weights.scale * layer.input_scale
    if layer.bias is not None:
        acc += layer.bias.astype(dtype)
    if m.op == "linear":
        return acc.reshape(n, outputs), conversions, clipped
    return acc.transpose(0, 2, 1).reshape(n, outputs, *m.out_shape[1:]), conversions, clipped


def _in_workers(fn: Callable[[int], T], items: range) -> list[T]:
    """``[fn(i) for i in items]``, in :func:`_workers` threads where there is more than one
    item and worker, each with one BLAS thread (the cores are the workers')."""
    workers = min(_workers(), len(items))
    if workers <= 1:
        return [fn(i) for i in items]
    with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))


def _workers() -> int:
    """Threads one layer runs in: ``OMP_NUM_THREADS`` where it is set (as BLAS would), else the
    CPUs this process may use."""
    given = os.environ.get("OMP_NUM_THREADS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _accumulate(
    layer: CrossbarLayer, x: np.ndarray, config: CimConfig, dtype, acc: np.ndarray
) -> tuple[int, int]:
    """Add the converted, shifted and summed column outputs of images ``x`` to ``acc``
    (``[N, P, O]``, integer weight units, offset removed); their conversions and clipped ones."""
    m = layer.mapping
    planes, ints = _bit_planes(_columns(x, m, config.mapping), layer, dtype)
    flat = acc.reshape(-1, layer.outputs)
    top, signed = cells.code_top(config), config.signed_conversion
    conversions = clipped = 0
    for plane, bit_weight in zip(planes, layer.input_bit_weights, strict=True):
        for unit, step in zip(layer.units, layer.steps, strict=True):
            weights = (layer.column_weights * bit_weight * step).astype(dtype)
            for s, sums in _unit_sums(plane, layer, unit):
                total = None
                for k, codes in enumerate(_as_converted(sums, config)):
                    clipped += cells.convert_counting(codes, step[k], top, signed)
                    conversions += codes.size
                    codes *= weights[k]
                    total = codes if total is None else np.add(total, codes, out=total)
                if m.shared:
                    flat[s : s + len(total)] += total
                else:
                    acc[:, s : s + len(total)] += total.transpose(1, 0, 2)
    if layer.weights.offset:
        acc -= layer.weights.offset * ints.sum(-1, dtype=dtype)[..., None]
    return conversions, clipped


def _unit_sums(
    plane: np.ndarray, layer: CrossbarLayer, unit
) -> Iterator[tuple[int, list[np.ndarray]]]:
    """Partial sums of one conversion unit per column kind, ``[m, O]`` each (shared: rows of
    ``N·P``) or ``[p, N, O]`` (unshared: per position), chunk by chunk with the chunk's first
    index."""
    width = layer.cells.shape[-1]  # every kind's sums: what a chunk holds
    if layer.mapping.shared:
        rows_in = plane.reshape(-1, plane.shape[-1])
        chunk = max(1, _CHUNK_ELEMENTS // width)
        for s in range(0, len(rows_in), chunk):
            rows = rows_in[s : s + chunk]
            yield s, _kind_sums([_summed(rows, g, unit) for g in layer.groups], layer)
    else:
        by_position = plane.transpose(1, 0, 2)  # [P, N, R]
        chunk = max(1, _CHUNK_ELEMENTS // (width * len(plane)))
        for s in range(0, layer.cells.shape[0], chunk):
            rows = by_position[s : s + chunk]
            sums = [_summed(rows, g[s : s + chunk], unit) for g in layer.groups]
            yield s, _kind_sums(sums, layer)


def _kind_sums(sums: list[np.ndarray], layer: CrossbarLayer) -> list[np.ndarray]:
    """One sum per column kind from the operands' sums: a packed sum ``P = S_j + 2^s S_{j+h}``
    (``0 <= S_j < 2^s``, integers) splits exactly into ``S_{j+h} = floor(P / 2^s)`` and
    ``S_j = P - 2^s S_{j+h}`` (powers of two scale floats exactly)."""
    if not layer.pack_shift:
        return sums
    half = layer.cells.shape[-1] // layer.outputs // 2
    high = []
    for packed in sums[:half]:
        top = np.multiply(packed, 2.0**-layer.pack_shift)
        np.floor(top, out=top)
        packed -= top * 2.0**layer.pack_shift
        high.append(top)
    return sums[:half] + high + sums[half:]


def _summed(rows: np.ndarray, operand: np.ndarray, unit) -> np.ndarray:
    """``rows @ operand`` over the unit's row ranges only, accumulated in place."""
    (a, b), *rest = unit
    total = rows[..., a:b] @ operand[..., a:b, :]
    for a, b in rest:
        total += rows[..., a:b] @ operand[..., a:b, :]
    return total


def _as_converted(sums: list[np.ndarray], config: CimConfig) -> list[np.ndarray]:
    """Column sums per kind as the ADCs' inputs per converted kind: a differential pair's
    columns subtracted first when the preset subtracts them before the ADC."""
    if config.signed_conversion:
        return [sums[k] - sums[k + config.slices] for k in range(config.slices)]
    return sums
