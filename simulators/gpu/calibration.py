"""Predict every timing of a real-GPU measurement file (``measure_gpu_layers.py`` format).

Each record becomes the framework ops the measuring script ran, built with the same layer
functions as the network model, and runs through the same SimPy engine; the prediction is the
time between the CUDA events around the call (:attr:`Timeline.elapsed`). Ceilings become a
copy kernel (bandwidth), one large GEMM (matmul rate) and ``torch.empty(1).add_(1)`` (the
floor of one timed op).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from simulators.gpu import convolution, layers
from simulators.gpu.config import DTYPE_BYTES, GpuConfig, load_config
from simulators.gpu.engine import simulate_ops
from simulators.gpu.kernels import Op, Read, Write, elementwise, gemm

# shipped with the package (copies of ../shared/calibration/, see calibration_data/README.md)
DATA = Path(__file__).parent / "calibration_data"
DEFAULT_FILE = DATA / "gpu_h200_bf16_n256.jsonl"
DEFAULT_FILES = (DEFAULT_FILE, DATA / "gpu_h200_fp32_n256.jsonl")  # what the H200 fit uses
DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}
COPY_ELEMENTS = 1 << 28  # the script's fp32 copy
MATMUL_SIZE = 8192  # the script's bf16 matmul
LIF_STEPS = 4


def load_records(*paths: str | Path) -> list[dict]:
    """The measurement records of one or more JSON-lines files (default: :data:`DEFAULT_FILES`)."""
    records = []
    for path in map(Path, paths or DEFAULT_FILES):
        if not path.is_file():
            raise FileNotFoundError(f"no calibration file at {path}")
        records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records


def _layer_ops(record: dict, quantity: str, config: GpuConfig) -> list[Op]:
    spec, dtype = config.spec, DTYPES[record["dtype"]]
    n, cin, cout, k = record["N"], record["Cin"], record["Cout"], record["k"]
    in_hw, out_hw = (record["H_in"],) * 2, (record["H_out"],) * 2
    name = record["layer"]
    if quantity == "shared_ms":
        return [convolution.conv(name, n, cin, in_hw, cout, out_hw, (k, k), dtype, spec, "x", "y")]
    if quantity == "elementwise_train_form_ms":
        elements = n * cin * in_hw[0] * in_hw[1]
        el = DTYPE_BYTES[dtype]
        scale = layers.pointwise(
            name, "scale", "mul", elements, [("x", el, elements), ("a", el, elements / n)], "xa", el
        )
        return [
            scale,
            convolution.conv(name, n, cin, in_hw, cout, out_hw, (k, k), dtype, spec, "xa", "y"),
        ]
    if quantity == "unshared_ms":
        return layers.local(
            name, n, cin, in_hw, cout, out_hw, (k, k), dtype, spec, "x", "y", restore_layout=False
        )
    if quantity == "lif_T4_ms":
        elements = n // LIF_STEPS * cout * out_hw[0] * out_hw[1]
        el = DTYPE_BYTES[dtype]
        return layers.lif_loop(name, elements, LIF_STEPS, dtype, "y", el, "o")
    raise ValueError(f"unknown quantity {quantity!r}")


def _ceiling(record: dict, config: GpuConfig) -> tuple[list[Op], float]:
    """The ops behind a ceiling and the factor turning their time (ms) into the value."""
    what = record["what"]
    if what == "d2d_copy_GBps":
        copy = elementwise("copy_", COPY_ELEMENTS, [("src", 4, COPY_ELEMENTS)], ("dst", 4))
        return [Op("ceiling", "copy", "copy_", "op", (copy,))], 2 * COPY_ELEMENTS * 4 / 1e6
    if what == "bf16_matmul_TFLOPs":
        size = MATMUL_SIZE
        matmul = gemm(
            "gemm",
            size,
            size,
            size,
            config.spec,
            "bf16",
            2,
            Read("A", size * size * 2, 0.0),
            Read("B", size * size * 2, 0.0),
            Write("C", size * size * 2, size * size * 2),
        )
        return [Op("ceiling", "matmul", "A @ B", "library", (matmul,))], 2 * size**3 / 1e9
    if what == "tiny_kernel_ms":
        add = elementwise("add_", 1, [("t", 4, 1)], ("t", 4))
        return [
            Op("ceiling", "empty", "torch.empty", "op"),
            Op("ceiling", "add", "add_", "op", (add,)),
        ], 0.0
    raise ValueError(f"unknown ceiling {what!r}")


def predict(records: list[dict], config: GpuConfig | str = "h200") -> pd.DataFrame:
    """One row per measured number: what it is, measured, predicted, relative error."""
    config = load_config(config)
    ms_per_cycle = 1e3 / config.spec.clock_hz
    rows = []
    for record in records:
        bench = record["bench"]
        if bench == "layer":
            for quantity in ("shared_ms", "elementwise_train_form_ms", "unshared_ms", "lif_T4_ms"):
                if quantity in record:
                    ops = _layer_ops(record, quantity, config)
                    predicted = simulate_ops(ops, config).elapsed * ms_per_cycle
                    rows.append(
                        _row(record, record["layer"], quantity, record[quantity], predicted)
                    )
        elif bench == "linear":
            dtype = DTYPES[record["dtype"]]
            op = layers.linear(
                "linear", record["N"], record["Cin"], record["Cout"], dtype, config.spec, "x", "y"
            )
            predicted = simulate_ops([op], config).elapsed * ms_per_cycle
            name = f"linear {record['Cin']}->{record['Cout']}"
            rows.append(_row(record, name, "ms", record["ms"], predicted))
        elif bench == "ceiling":
            ops, factor = _ceiling(record, config)
            ms = simulate_ops(ops, config).elapsed * ms_per_cycle
            predicted = factor / ms if factor else ms
            rows.append(_row(record, "ceiling", record["what"], record["value"], predicted))
    frame = pd.DataFrame(rows)
    frame["error"] = frame.predicted / frame.measured - 1
    return frame


def _row(record: dict, layer: str, quantity: str, measured: float, predicted: float) -> dict:
    return {
        "dtype": record.get("dtype", ""),
        "N": record.get("N", 0),
        "layer": layer,
        "quantity": quantity,
        "measured": float(measured),
        "predicted": float(predicted),
    }


def ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Unshared over shared time per layer, measured and predicted."""
    wide = frame[frame.quantity.isin(["shared_ms", "unshared_ms"])].pivot_table(
        index=["dtype", "N", "layer"], columns="quantity", values=["measured", "predicted"]
    )
    out = pd.DataFrame(
        {
            "measured": wide["measured"]["unshared_ms"] / wide["measured"]["shared_ms"],
            "predicted": wide["predicted"]["unshared_ms"] / wide["predicted"]["shared_ms"],
        }
    ).reset_index()
    out["error"] = out.predicted / out.measured - 1
    return out


def log_errors(frame: pd.DataFrame) -> np.ndarray:
    """Log of predicted over measured time for every timing (ceilings as times)."""
    ratio = frame.predicted / frame.measured
    rate = frame.quantity.isin(["d2d_copy_GBps", "bf16_matmul_TFLOPs"])
    return np.log(np.where(rate, 1 / ratio, ratio))


def main(argv: list[str] | None = None) -> None:
    """Print the measured-versus-predicted tables (Markdown) of a calibration file."""
    import argparse

    p = argparse.ArgumentParser(description="measured vs predicted GPU timings")
    p.add_argument(
        "--file",
        nargs="+",
        default=[str(f) for f in DEFAULT_FILES],
        help="measurement files (default: the bf16 and fp32 H200 files the fit uses)",
    )
    p.add_argument("--preset", default="h200")
    args = p.parse_args(argv)
    frame = predict(load_records(*args.file), args.preset)
    names = {
        "shared_ms": "shared conv",
        "elementwise_train_form_ms": "element-wise training form",
        "unshared_ms": "unshared (unfold + bmm)",
        "lif_T4_ms": "LIF loop, T=4",
        "ms": "linear",
    }
    print("| dtype | N | layer | what | measured | predicted | error |")
    print("|---|---|---|---|---|---|---|")
    for r in frame.itertuples():
        unit = {"d2d_copy_GBps": "GB/s", "bf16_matmul_TFLOPs": "TFLOP/s"}.get(r.quantity, "ms")
        what = names.get(r.quantity, r.quantity)
        print(
            f"| {r.dtype} | {r.N or ''} | {r.layer} | {what} | {r.measured:.4g} {unit} "
            f"| {r.predicted:.4g} {unit} | {r.error:+.1%} |"
        )
    ratio = ratios(frame)
    print("\n| dtype | N | layer | unshared / shared measured | predicted | error |")
    print("|---|---|---|---|---|---|")
    for r in ratio.itertuples():
        print(
            f"| {r.dtype} | {r.N} | {r.layer} | {r.measured:.1f} | {r.predicted:.1f} "
            f"| {r.error:+.1%} |"
        )
    layers = frame[frame.quantity.isin(["shared_ms", "unshared_ms"])]
    rms = np.sqrt(np.mean(log_errors(frame) ** 2))
    print(
        f"\nlargest |error|: shared and unshared layers {layers.error.abs().max():.1%}, "
        f"unshared/shared ratio {ratio.error.abs().max():.1%}; "
        f"rms log error over {len(frame)} numbers: {rms:.3f}"
    )


if __name__ == "__main__":
    main()
