"""The named categories figures group a report's components into. Each hardware package declares
its own ``COMPONENT_CATEGORIES`` (component -> one of these), so nothing above ``simulators/``
needs to know what a hardware's components are."""

CATEGORIES = ("compute", "memory", "data movement", "periphery and ADC", "static")
"""In stacking order (bottom first)."""
