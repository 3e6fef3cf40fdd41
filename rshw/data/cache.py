"""Decoded-array cache: 60,000 JPEGs take seconds to decode, an uncompressed npz loads in a blink.

Entries live under ``$RSHW_CACHE`` (default ``~/.cache/rshw``), named by a hash of the source's
resolved path, size and modification time, so an edited or moved source is decoded afresh.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from simulators.files import NPZ_READ_ERRORS, atomic_path

FORMAT_VERSION = 1
"""Bump when decoding changes, so old entries are no longer found."""


def cache_dir() -> Path:
    return Path(os.environ.get("RSHW_CACHE") or Path.home() / ".cache" / "rshw")


def fingerprint(source: Path, files: Iterable[Path] = ()) -> str:
    """Identify a source by resolved path, size and mtime (of itself and of ``files``)."""
    parts = [f"v{FORMAT_VERSION}"]
    for path in (source, *files):
        stat = path.stat()
        parts.append(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def cache_path(name: str, split: str, key: str) -> Path:
    return cache_dir() / f"{name}-{split}-{key}.npz"


def load_cached(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays stored at ``path``, or None when missing or unreadable (it is then rewritten)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except NPZ_READ_ERRORS:
        return None


def save_cached(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically (temp file + rename), so a killed run never leaves half an entry."""
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
    except OSError as err:
        warnings.warn(
            f"cannot write the data cache {path} ({err}); it is decoded again next run",
            stacklevel=2,
        )
