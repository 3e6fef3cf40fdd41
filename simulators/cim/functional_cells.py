"""Weights into crossbar cells, and column currents through an ADC: the arithmetic of one layer.

Conventions (stated once here, used by :mod:`simulators.cim.functional`):

- **Weights** are quantized per layer, symmetric, to the preset's ``weight_bits``: ``offset``
  encoding stores ``q + 2^(b-1)`` with ``q`` in ``±(2^(b-1) - 1)`` (the offset times the input
  sum is subtracted digitally, exactly); ``differential`` stores ``max(q, 0)`` and ``max(-q, 0)``
  in two column sets with ``q`` in ``±(2^b - 1)``. Scale: ``max|W| / q_max``. An unshared
  (``local``) layer quantizes every position's kernel ``in_scale · weight`` with one layer scale.
- **Slices**: a stored level is cut into ``slices`` digits of ``bits_per_cell`` bits, least
  significant first, one cell (column) each; the digits are shifted and added after the ADC.
- **Cells**: a digit ``d`` in ``0..L`` (``L = 2^bits_per_cell - 1``) conducts ``d + g_off`` unit
  currents, ``g_off = L / (on_off_ratio - 1)`` (0 when the ratio is 0, ideal), times a
  log-normal factor ``exp(σ z)`` per cell; stuck-at-0 cells hold digit 0, stuck-at-1 cells L.
  The off current is not compensated: every active row adds it to every column.
- **ADC**: one conversion per column (or per differential pair subtracted before the ADC,
  ``differential_subtraction = "analog"``: a signed conversion, codes ``±(2^(bits-1) - 1)``) and
  conversion unit: a row group (``parallel_rows`` rows of a crossbar, all by default) of a
  crossbar, or of a PE's crossbars when ``pe_accumulation`` is analog. ``code = clip(round(P /
  Δ))`` (round half to even), value ``code · Δ``. The LSB ``Δ`` follows ``adc_range``:
  ``fixed`` (worst case): ``Δ = 2^max(0, F - magnitude bits)``, ``F = ceil(log2(adc_full_scale ·
  rows · L + 1))`` the bits the unit's largest ideal sum needs; ``calibrated`` (default, as
  NeuroSim and MNSIM): ``Δ = max(S / top code, 1)`` with ``S`` the ``adc_range_percentile`` of
  the unit's partial sums (per cell slice) on calibration images. With enough bits either is
  exact on integer sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.cim.config import CimConfig


@dataclass(frozen=True)
class WeightCode:
    """Integer weight levels and how they are stored: ``W ≈ scale · levels``."""

    scale: float
    offset: int  # added to every level before storing (offset encoding), else 0
    signs: tuple[int, ...]  # +1 (and -1 for differential): the column sets


def quantize_weights(weight: np.ndarray, config: CimConfig) -> tuple[np.ndarray, WeightCode]:
    """Integer levels (same shape as ``weight``) and their code, per the preset's encoding."""
    bits = config.weight_bits
    if config.signed_weights == "offset":
        if bits < 2:
            raise ValueError(
                "offset-encoded weights need weight_bits >= 2 (one bit is the offset); "
                "use signed_weights = 'differential' for 1-bit weights"
            )
        top, code = 2 ** (bits - 1) - 1, WeightCode(0.0, 2 ** (bits - 1), (1,))
    else:
        top, code = 2**bits - 1, WeightCode(0.0, 0, (1, -1))
    peak = float(np.abs(weight).max())
    scale = peak / top if peak > 0 else 1.0
    kind = np.int32 if bits < 31 else np.int64  # half the bytes to move for large layers
    levels = np.clip(np.rint(weight / scale), -top, top).astype(kind)
    return levels, WeightCode(scale, code.offset, code.signs)


def cell_digits(levels: np.ndarray, code: WeightCode, config: CimConfig) -> np.ndarray:
    """Stored digits ``[..., signs·slices, O]`` from levels ``[..., O]``: column sets by sign,
    then slices least significant first."""
    mask = 2**config.bits_per_cell - 1
    kind = np.uint8 if config.bits_per_cell <= 8 else levels.dtype
    digits = np.empty((*levels.shape[:-1], len(code.signs) * config.slices, levels.shape[-1]), kind)
    for i, sign in enumerate(code.signs):
        stored = levels + code.offset if code.offset else np.maximum(sign * levels, 0)
        for k in range(config.slices):
            digits[..., i * config.slices + k, :] = (stored >> (k * config.bits_per_cell)) & mask
    return digits


def column_weights(code: WeightCode, config: CimConfig) -> np.ndarray:
    """Digital shift-and-add weight of each column set × slice, ``[signs·slices]``."""
    shifts = 2.0 ** (config.bits_per_cell * np.arange(config.slices))
    return np.concatenate([sign * shifts for sign in code.signs])


def conductances(
    digits: np.ndarray, config: CimConfig, rng: np.random.Generator, dtype
) -> np.ndarray:
    """Cell currents in units of one digit step, with the preset's device effects (seeded)."""
    top = 2**config.bits_per_cell - 1
    cells = digits.astype(dtype)
    if config.stuck_at_0_rate or config.stuck_at_1_rate:
        draw = rng.random(cells.shape)
        cells[draw < config.stuck_at_0_rate] = 0
        cells[
            (draw >= config.stuck_at_0_rate)
            & (draw < config.stuck_at_0_rate + config.stuck_at_1_rate)
        ] = top
    if config.on_off_ratio:
        cells += top / (config.on_off_ratio - 1)
    if config.cell_variation_sigma:
        cells *= np.exp(config.cell_variation_sigma * rng.standard_normal(cells.shape)).astype(
            dtype
        )
    return cells


def code_top(config: CimConfig) -> int:
    """The largest ADC code: ``2^bits - 1``, or ``2^(bits-1) - 1`` either side of zero when a
    differential pair is subtracted before the ADC (a signed conversion)."""
    bits = config.adc_bits - 1 if config.signed_conversion else config.adc_bits
    return 2**bits - 1


def adc_step(rows: int, config: CimConfig) -> float:
    """The ``fixed`` (worst-case) LSB ``Δ`` (unit currents) of an ADC converting the sum of
    ``rows`` cells: its codes span the largest ideal sum, rounded up to a power of two."""
    needed = int(np.ceil(np.log2(config.adc_full_scale * rows * (2**config.bits_per_cell - 1) + 1)))
    return float(2 ** max(0, needed - int(np.log2(code_top(config) + 1))))


def calibrated_step(full_scale: float, config: CimConfig) -> float:
    """The ``calibrated`` LSB: the top code at the measured ``full_scale`` (any step, not only
    powers of two), never finer than one cell level (finer codes resolve nothing more, as the
    fixed policy's ``2^max(0, ...)``)."""
    return max(full_scale / code_top(config), 1.0)


def convert(partial_sums: np.ndarray, step, adc_bits: int, signed: bool = False) -> np.ndarray:
    """ADC codes of partial sums, in place: ``round(P / Δ)`` clipped to the codes; ``step``
    broadcasts against ``partial_sums`` (one step per cell slice)."""
    convert_counting(partial_sums, step, 2 ** (adc_bits - signed) - 1, signed)
    return partial_sums


def convert_counting(partial_sums: np.ndarray, step, top: int, signed: bool) -> int:
    """:func:`convert` with the top code given; returns how many conversions clipped."""
    np.multiply(partial_sums, 1.0 / np.asarray(step, partial_sums.dtype), out=partial_sums)
    np.rint(partial_sums, out=partial_sums)
    clipped = int(np.count_nonzero(np.abs(partial_sums) > top if signed else partial_sums > top))
    if clipped:
        np.clip(partial_sums, -top if signed else 0, top, out=partial_sums)
    return clipped


def input_code(peak: float, negative: bool, bits: int) -> tuple[float, np.ndarray]:
    """Scale and per-bit weights of a real input fed bit-serially: ``x ≈ scale · Σ w_j b_j``.

    Unsigned inputs use ``bits`` magnitude bits; inputs that can be negative use two's
    complement (the most significant bit weighs ``-2^(bits-1)``).
    """
    top = 2 ** (bits - 1) - 1 if negative else 2**bits - 1
    if negative and top < 1:
        raise ValueError(
            "a signed real input needs real_input_bits >= 2 (sign and one magnitude bit)"
        )
    weights = 2.0 ** np.arange(bits)
    if negative:
        weights[-1] = -weights[-1]
    return (peak / top if peak > 0 else 1.0), weights
