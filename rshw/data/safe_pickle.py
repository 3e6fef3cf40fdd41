"""Read pickles that may hold only plain containers and numpy arrays, never code.

The official CIFAR batches are pickles, and a pickle can call any importable function while it
loads. :class:`NumpyOnlyUnpickler` resolves only the few names that rebuild numpy arrays, dtypes
and scalars, and refuses every other global; :func:`load_numpy_pickle` turns that, and any sign of a
truncated or corrupted file, into a :class:`DataError` naming the file.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from rshw.errors import DataError


def _numpy_core(module: str) -> Any:
    """``numpy._core.<module>`` (numpy 2) or ``numpy.core.<module>`` (numpy 1)."""
    try:
        return importlib.import_module(f"numpy._core.{module}")
    except ImportError:
        return importlib.import_module(f"numpy.core.{module}")


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle asks for a name outside :data:`ALLOWED_GLOBALS`: it would run code."""


def _latin1_encode(text: str, encoding: str) -> bytes:
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1").
    if encoding != "latin1":
        raise RefusedGlobal(f"refusing _codecs.encode with encoding {encoding!r}")
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
            raise RefusedGlobal(
                f"refusing to load {module}.{name}: only numpy arrays and plain containers "
                "are allowed in dataset pickles"
            ) from None


# What a truncated or junk-filled pickle raises, depending on where the damage falls.
CORRUPTION_ERRORS = (
    EOFError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    AttributeError,
    OverflowError,
    MemoryError,
)


def load_numpy_pickle(path: Path) -> Any:
    """Unpickle ``path`` (bytes kept as bytes, as in the Python 2 CIFAR files), numpy only.

    Raises :class:`DataError` naming the file when it holds code or is truncated or corrupted.
    """
    with open(path, "rb") as f:
        try:
            return NumpyOnlyUnpickler(f, encoding="bytes").load()
        except RefusedGlobal as err:
            raise DataError(f"{path}: {err}") from None
        except (pickle.UnpicklingError, *CORRUPTION_ERRORS) as err:
            raise DataError(_corrupted(path, err)) from None


def _corrupted(path: Path, err: BaseException) -> str:
    reason = "truncated" if isinstance(err, EOFError) else f"{type(err).__name__}: {err}"
    return (
        f"{path} is not a readable pickle ({reason}): the file is truncated or corrupted; "
        "download and unpack the dataset again"
    )
