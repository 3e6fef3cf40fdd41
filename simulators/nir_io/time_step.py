"""The simulation step ``dt`` that NIR's continuous-time neurons are discretised with, shared by
the export and the import."""

# The step when neither the caller nor the file says: the default of snnTorch's and
# SpikingJelly's NIR exporters (files from either carry no dt).
DEFAULT_DT = 1e-4


def check_dt(dt: float) -> None:
    """Refuse a step that is not a positive number of seconds."""
    if not dt > 0:
        raise ValueError(f"the simulation step dt must be > 0, got {dt}")
