"""What each component of a GPU report is, for figures that group components: the SMs
(compute), shared memory, L2 and DRAM (memory) and the stream's idle/static power (static)."""

COMPONENT_CATEGORIES = {
    "sm": "compute",
    "smem": "memory",
    "l2": "memory",
    "dram": "memory",
    "stream": "static",
}
"""component -> category (one of ``simulators.components.CATEGORIES``)."""
