"""What each component of an analytic report is, for figures that group components: the
operation-count model's arithmetic (compute), its on-chip SRAMs (memory) and DRAM (memory)."""

COMPONENT_CATEGORIES = {
    "arithmetic": "compute",
    "weight_memory": "memory",
    "accumulator_memory": "memory",
    "membrane_memory": "memory",
    "parameter_memory": "memory",
    "spike_memory": "memory",
    "dram": "memory",
}
"""component -> category (one of ``simulators.components.CATEGORIES``)."""
