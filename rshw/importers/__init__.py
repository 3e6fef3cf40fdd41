"""Networks trained elsewhere (SpikingJelly, snnTorch) → the IR, folded, without the frameworks.

``import_module(module, input_shape, timesteps)`` describes a live torch module and lowers the
description; ``import_description`` lowers a saved one. See ``docs/import.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rshw.importers.describe import describe, load_description, save_description
from rshw.importers.lower import SEW_POLICIES, lower
from rshw.importers.neuron import ImportRefused
from simulators.ir import Graph

__all__ = [
    "SEW_POLICIES",
    "ImportRefused",
    "describe",
    "import_module",
    "load_description",
    "lower",
    "save_description",
]


def import_module(
    module: Any,
    input_shape: tuple[int, ...],
    timesteps: int,
    dtype: Any = np.float32,
    sew: str = "split",
) -> Graph:
    """The folded IR graph of a SpikingJelly / snnTorch / torch module (eval mode)."""
    description, state = describe(module)
    return lower(description, state, input_shape, timesteps, dtype, sew)
