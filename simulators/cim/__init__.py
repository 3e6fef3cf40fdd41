"""Cycle-level model of a compute-in-memory crossbar chip (SimPy), with its closed form.

``simulate(graph, activity, config)`` maps a binary-spike IR graph onto crossbars, PEs, tiles and
chips, counts the work of every output row from the recorded spike maps (event-driven) or reads
everything (dense), runs the chip as SimPy processes and returns the common Report.
"""

import json

from simulators.cim.components import COMPONENT_CATEGORIES
from simulators.cim.config import PRESETS, CimConfig, load_config, preset_names
from simulators.cim.mapping import ChipMapping, LayerMapping, MappingError, map_graph, mapping_table
from simulators.cim.model import estimate, simulate

OPTIONS = {
    "mode": (str, ("event", "dense"), "event-driven reads of the recorded spikes, or read all"),
    "samples": (int, None, "traced images to simulate (the first N)"),
}
"""Run options of :func:`simulate` (hardware protocol): name -> (type, allowed or None, help)."""

# What this hardware declares to the registry (simulators/registry.py).
DEFAULT_PRESET = "spikesim-rram-65nm"
DEFAULT_SETTINGS: dict = {}
CALIBRATED: dict = {}  # projections from published designs: nothing measured
INFEASIBLE = (MappingError,)  # a network that does not fit the chip is a result
COMPARED = tuple(preset_names())  # the comparison runs every CIM preset
NOTES: dict = {}


def accuracy(graph, config, options, x, labels, calibration, seed=0) -> dict:
    """Accuracy of the functional crossbar programmed with ``config`` (input scales from
    ``calibration``; cell variation drawn with ``seed``) on ``x``, against ``labels``."""
    from simulators.cim import functional
    from simulators.cim.functional_accuracy import evaluate

    chip = functional.program(graph, config, calibration, seed=seed)
    result = evaluate(graph, lambda b: functional.run(chip, b), x, labels)
    return {  # and how the chip was read: what a calibrated ADC range depends on
        **result,
        "clip_fraction": chip.clip_fraction(),
        "calibration_sha256": chip.calibration_sha256,
        "adc_ranges_json": json.dumps(chip.adc_ranges()),
    }


__all__ = [
    "CALIBRATED",
    "COMPARED",
    "COMPONENT_CATEGORIES",
    "DEFAULT_PRESET",
    "DEFAULT_SETTINGS",
    "INFEASIBLE",
    "NOTES",
    "OPTIONS",
    "PRESETS",
    "ChipMapping",
    "CimConfig",
    "LayerMapping",
    "MappingError",
    "accuracy",
    "estimate",
    "load_config",
    "map_graph",
    "mapping_table",
    "preset_names",
    "simulate",
]
