"""Shared bits of the benchmarks: timing, peak memory, the JSON record."""

from __future__ import annotations

import json
import platform
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_result(name: str, record: dict[str, Any], directory: str | Path | None = None) -> Path:
    """Write ``record`` to ``directory/NAME.json`` (default: ``bench/results``)."""
    directory = RESULTS if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "machine": platform.platform(),
        "python": platform.python_version(),
        **record,
    }
    path = directory / f"{name}.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def print_and_write(name: str, record: dict[str, Any], width: int = 32) -> Path:
    """Print ``record`` a key per line (floats to 4 significant digits), then write it as
    :func:`write_result` does."""
    for key, value in record.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"{key:{width}s} {shown}")
    path = write_result(name, record)
    print(f"wrote {path}")
    return path
