"""Tiny IR graphs whose weights, scales and inputs lie on the chip's grids, so that a crossbar
with enough ADC bits must reproduce the ideal executor bit for bit."""

from __future__ import annotations

import numpy as np

from simulators.cim.config import CimConfig
from simulators.ir import Graph

LIF = {"tau": 0.25, "v_th": 0.5}
WEIGHT_STEP = 2.0**-4  # every weight is an integer level times this (a power of two: exact)
INPUT_STEP = 2.0**-3


def top_level(config: CimConfig) -> int:
    bits = config.weight_bits
    return 2 ** (bits - 1) - 1 if config.signed_weights == "offset" else 2**bits - 1


def _weights(rng, shape, top: int) -> np.ndarray:
    """Integer levels in ±top (one of them exactly top, so the layer's scale is WEIGHT_STEP)."""
    levels = rng.integers(-top, top + 1, size=shape)
    levels.flat[rng.integers(levels.size)] = top
    return levels * WEIGHT_STEP


def on_spikes(g: Graph, name: str, op: str, source: str, attrs: dict, **arrays) -> None:
    """A weighted node whose input is binary spikes."""
    g.add(name, op, [source], attrs={**attrs, "binary_input": True}, **arrays)


def grid_graph(config: CimConfig, channels: int = 3, size: int = 6, seed: int = 0) -> Graph:
    """Stem (real input) → LIF → unshared conv with ±1 input scales → LIF → max-pool → residual
    conv + scaled shortcut → LIF → flatten → linear → output."""
    rng = np.random.default_rng(seed)
    top, c = top_level(config), channels
    g = Graph({"timesteps": 3})
    g.add("input", "input", shape=(1, size, size))
    g.add(
        "stem",
        "conv",
        ["input"],
        attrs={"padding": 1},
        weight=_weights(rng, (c, 1, 3, 3), top),
        bias=rng.integers(-8, 9, c) * 2.0**-7,
    )
    g.add("lif0", "lif", ["stem"], attrs=LIF)
    padded = {"padding": 1}
    on_spikes(
        g,
        "local",
        "local",
        "lif0",
        padded,
        weight=_weights(rng, (c, c, 3, 3), top),
        in_scale=rng.choice([-1.0, 1.0], size=(c, size, size)),
    )
    g.add("lif1", "lif", ["local"], attrs=LIF)
    g.add("pool", "maxpool", ["lif1"], attrs={"kernel": 2})
    on_spikes(g, "conv", "conv", "pool", padded, weight=_weights(rng, (c, c, 3, 3), top))
    g.add("shortcut", "scale", ["pool"], scale=rng.choice([0.5, 1.0, 2.0], size=(c, 1, 1)))
    g.add("add", "add", ["conv", "shortcut"])
    g.add("lif2", "lif", ["add"], attrs=LIF)
    g.add("flat", "flatten", ["lif2"])
    on_spikes(g, "fc", "linear", "flat", {}, weight=_weights(rng, (4, c * (size // 2) ** 2), top))
    g.add("output", "output", ["fc"])
    return g.validate()


def grid_images(
    samples: int, size: int = 6, signed: bool = False, bits: int = 8, seed: int = 0
) -> np.ndarray:
    """Images on the input grid whose peak is the largest input code (scale = INPUT_STEP)."""
    rng = np.random.default_rng(seed)
    top = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    levels = rng.integers(-top if signed else 0, top + 1, size=(samples, 1, size, size))
    levels.flat[0] = top
    return levels * INPUT_STEP
