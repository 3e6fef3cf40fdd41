"""What each component of a CIM report is, for figures that group components (the components
of ``simulators.cim.energy.ACTIONS``, the area-only buffers and the chip's leakage)."""

COMPONENT_CATEGORIES = {
    "crossbar": "compute",
    "adder": "compute",
    "neuron": "compute",
    "digital": "compute",
    "subtractor": "compute",
    "input_buffer": "memory",
    "temp_buffer": "memory",
    "tile_buffer": "memory",
    "global_buffer": "memory",
    "membrane": "memory",
    "htree": "data movement",
    "noc": "data movement",
    "chip_link": "data movement",
    "adc": "periphery and ADC",
    "mux": "periphery and ADC",
    "reload": "memory",  # weights rewritten from DRAM into the cells (overflow = "reload")
    "leakage": "static",
    "power_gating": "static",  # waking gated tiles (power_gating = "idle-tiles")
}
"""component -> category (one of ``simulators.components.CATEGORIES``)."""
