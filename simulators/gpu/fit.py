"""Fit a preset's efficiency factors and host overheads to a real-GPU measurement file.

    python -m simulators.gpu.fit [--file BF16.jsonl FP32.jsonl] [--preset h200] [--out FIT.toml]

Minimises the mean squared log error of every timing in the files (layers, linears, ceilings;
by default the H200's bf16 and fp32 files, :data:`calibration.DEFAULT_FILES`)
over the fields of :class:`Fitted`, with a Nelder-Mead search (numpy only) on unbounded
transforms (logit for fractions, log for the rest), restarted once from its best point. The
start is read off the ceilings (:func:`initial_guess`), so the result depends on the files
alone. Writes the fitted TOML that ``presets/fitted/`` holds, with the error in each source.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from simulators.files import atomic_write_text
from simulators.gpu import calibration
from simulators.gpu.config import FITTED, FRACTIONS, HOST, Fitted, GpuConfig, load_config

POSITIVE = ("broadcast_ops_per_element", *HOST)
PARAMETERS = FRACTIONS + POSITIVE


def _encode(fit: Fitted) -> np.ndarray:
    values = [getattr(fit, k) for k in PARAMETERS]
    return np.array(
        [
            np.log(v / (1 - v)) if k in FRACTIONS else np.log(v)
            for k, v in zip(PARAMETERS, values, strict=True)
        ]
    )


def _decode(x: np.ndarray, name: str) -> Fitted:
    values = {
        k: float(1 / (1 + np.exp(-v)) if k in FRACTIONS else np.exp(v))
        for k, v in zip(PARAMETERS, x, strict=True)
    }
    values["tensor_efficiency"] = min(values["tensor_efficiency"], 1.0)
    return Fitted(name=name, **values)


def nelder_mead(
    f: Callable[[np.ndarray], float], x0: np.ndarray, step: float = 0.3, iterations: int = 600
) -> np.ndarray:
    """Minimise ``f`` from ``x0`` (standard reflection/expansion/contraction/shrink moves)."""
    simplex = [x0] + [x0 + step * np.eye(len(x0))[i] for i in range(len(x0))]
    values = [f(x) for x in simplex]
    for _ in range(iterations):
        order = np.argsort(values)
        simplex, values = [simplex[i] for i in order], [values[i] for i in order]
        centroid = np.mean(simplex[:-1], axis=0)
        reflected = centroid + (centroid - simplex[-1])
        fr = f(reflected)
        if fr < values[0]:
            expanded = centroid + 2 * (centroid - simplex[-1])
            fe = f(expanded)
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            fc = f(contracted)
            if fc < values[-1]:
                simplex[-1], values[-1] = contracted, fc
            else:
                simplex = [simplex[0] + 0.5 * (x - simplex[0]) for x in simplex]
                values = [f(x) for x in simplex]
        if np.ptp(values) < 1e-6:
            break
    return simplex[int(np.argmin(values))]


def initial_guess(records: list[dict], config: GpuConfig) -> Fitted:
    """A starting point from the measured ceilings: matmul rate over the datasheet peak, copy
    bandwidth over the datasheet bandwidth, half the timed tiny op (two host calls) per op.
    Factors no ceiling measures start at round values."""
    spec = config.spec
    ceilings = {r["what"]: r["value"] for r in records if r["bench"] == "ceiling"}
    peak_tflops = 2 * spec.sm_count * spec.tensor_bf16_macs_per_cycle_per_sm * spec.clock_hz
    op_us = ceilings["tiny_kernel_ms"] * 1e3 / 2
    return Fitted(
        name=config.fit.name,
        tensor_efficiency=min(0.99, ceilings["bf16_matmul_TFLOPs"] * 1e12 / peak_tflops),
        stream_efficiency=min(0.99, ceilings["d2d_copy_GBps"] / spec.dram_gb_s),
        direct_conv_efficiency=0.5,
        scattered_efficiency=0.5,
        broadcast_ops_per_element=32.0,
        op_overhead_us=op_us,
        library_overhead_us=2 * op_us,
        launch_overhead_us=op_us / 2,
    )


def fit(records: list[dict], config: GpuConfig, iterations: int = 600) -> tuple[Fitted, float]:
    """The factors minimising the mean squared log error, and its root (rms log error)."""

    def loss(x: np.ndarray) -> float:
        trial = dataclasses.replace(config, fit=_decode(x, config.fit.name))
        return float(np.mean(calibration.log_errors(calibration.predict(records, trial)) ** 2))

    best = nelder_mead(loss, _encode(initial_guess(records, config)), iterations=iterations)
    best = nelder_mead(loss, best, step=0.1, iterations=iterations)
    return _decode(best, config.fit.name), float(np.sqrt(loss(best)))


def to_toml(fitted: Fitted, source: str, rms: float, points: int) -> str:
    """The fitted-factors file, every value labelled as fitted."""
    units = {f.name: f.metadata.get("unit", "") for f in dataclasses.fields(Fitted)}
    note = (
        f"fitted by simulators/gpu/fit.py to {source} ({points} timings, rms log error {rms:.3f})"
    )
    lines = [
        "# FITTED factors, not datasheet values: written by `python -m simulators.gpu.fit`.",
        f"# {note}",
        f'name = "{fitted.name}"',
    ]
    for key in PARAMETERS:
        lines.append(
            f'{key} = {{value = {getattr(fitted, key):.4g}, unit = "{units[key]}", '
            f'source = "{note}"}}'
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--file",
        nargs="+",
        default=[str(f) for f in calibration.DEFAULT_FILES],
        help="measurement files (jsonl), fitted together",
    )
    p.add_argument("--preset", default="h200", help="the preset whose factors are fitted")
    p.add_argument("--out", default=None, help="fitted TOML (default: presets/fitted/FIT.toml)")
    p.add_argument("--iterations", type=int, default=600)
    args = p.parse_args(argv)
    records = calibration.load_records(*args.file)
    config = load_config(args.preset)
    fitted, rms = fit(records, config, args.iterations)
    points = len(calibration.predict(records, config))
    out = Path(args.out) if args.out else FITTED / f"{config.fit.name}.toml"
    source = " + ".join(Path(f).name for f in args.file)
    atomic_write_text(out, to_toml(fitted, source, rms, points))
    for key in PARAMETERS:
        print(f"{key:28s} {getattr(fitted, key):.4g}")
    print(f"rms log error {rms:.4f}; wrote {out}")


if __name__ == "__main__":
    main()
