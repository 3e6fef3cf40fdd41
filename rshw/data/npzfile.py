"""Find and open the single-file npz datasets (MNIST, N-MNIST) with errors that name the key."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rshw.errors import DataError
from simulators.files import NPZ_READ_ERRORS


def find_file(path: Path, file_names: Sequence[str]) -> Path | None:
    """``path`` itself when it is an npz file, else the first of ``file_names`` inside it."""
    if path.is_file():
        return path if path.suffix == ".npz" else None
    return next((path / n for n in file_names if (path / n).is_file()), None)


def read_arrays(path: Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of the npz at ``path``; DataError names any that are missing."""
    try:
        npz = np.load(path, allow_pickle=False)
    except NPZ_READ_ERRORS as err:
        raise DataError(f"{path} is not a readable npz file: {err}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{path} holds a single array, not an npz archive of named arrays")
    with npz:
        missing = [k for k in keys if k not in npz.files]
        if missing:
            raise DataError(
                f"{path} lacks key(s) {', '.join(missing)}; it has {', '.join(npz.files) or 'none'}"
            )
        try:
            return {k: npz[k] for k in keys}
        except NPZ_READ_ERRORS as err:
            raise DataError(
                f"{path} is corrupted ({type(err).__name__}: {err}); copy or download it again"
            ) from None
