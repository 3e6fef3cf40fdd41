"""Read pickles that may hold only plain containers and numpy arrays, never code.

The official CIFAR batches are pickles, and a pickle can call any importable function while it
loads. :class:`NumpyOnlyUnpickler` resolves only the few names that rebuild numpy arrays, dtypes
and scalars, and refuses every other global with ``pickle.UnpicklingError``.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np


def _numpy_core(module: str) -> Any:
    """``numpy._core.<module>`` (numpy 2) or ``numpy.core.<module>`` (numpy 1)."""
    try:
        return importlib.import_module(f"numpy._core.{module}")
    except ImportError:
        return importlib.import_module(f"numpy.core.{module}")


def _latin1_encode(text: str, encoding: str) -> bytes:
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1").
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


_multiarray = _numpy_core("multiarray")
_numeric = _numpy_core("numeric")
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}
for _prefix in ("numpy.core", "numpy._core"):
    ALLOWED_GLOBALS[(f"{_prefix}.multiarray", "_reconstruct")] = _multiarray._reconstruct
    ALLOWED_GLOBALS[(f"{_prefix}.multiarray", "scalar")] = _multiarray.scalar
    ALLOWED_GLOBALS[(f"{_prefix}.numeric", "_frombuffer")] = _numeric._frombuffer


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler whose only importable names are those in :data:`ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays and plain containers "
                "are allowed in dataset pickles"
            ) from None


def load_numpy_pickle(path: Path) -> Any:
    """Unpickle ``path`` (bytes kept as bytes, as in the Python 2 CIFAR files), numpy only."""
    with open(path, "rb") as f:
        try:
            return NumpyOnlyUnpickler(f, encoding="bytes").load()
        except pickle.UnpicklingError as err:
            raise pickle.UnpicklingError(f"{path}: {err}") from None
        except EOFError:
            raise ValueError(f"{path}: the pickle is truncated") from None
