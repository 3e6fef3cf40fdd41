"""NIR (Neuromorphic Intermediate Representation) exchange of IR graphs: ``.nir`` files.

NIR lets other SNN tools (snnTorch, Norse, Lava, Sinabs, ...) hand us their models and take ours.
Every IR op has an exact NIR counterpart except the LIF neuron, which NIR describes in continuous
time and which we map with the forward-Euler step those tools use. The mapping, the LIF formulas
and what is refused are in ``docs/nir.md``; in short:

- ``local`` ↔ ``Scale(in_scale) → Conv2d``; ``maxpool`` of spikes ↔ ``SumPool2d → Threshold(½)``;
- ``add`` is NIR's implicit sum of the edges entering a node; an add read by several nodes, by
  another add or by the output becomes an explicit identity ``Scale(1)`` that sums its edges;
- graph ``meta``, the time-averaged output, the names of inlined adds and each LIF's exact ``tau``
  travel in NIR ``metadata``, so IR → NIR → IR restores the graph.

The export is in :mod:`simulators.nir_io.export`, the import in :mod:`simulators.nir_io.importer`;
this package's names are the public interface.
"""

from simulators.nir_io.export import MAXPOOL_THRESHOLD, to_nir, write_nir
from simulators.nir_io.importer import SUPPORTED, file_dt, from_nir, read_nir
from simulators.nir_io.time_step import DEFAULT_DT

__all__ = [
    "DEFAULT_DT",
    "MAXPOOL_THRESHOLD",
    "SUPPORTED",
    "file_dt",
    "from_nir",
    "read_nir",
    "to_nir",
    "write_nir",
]
