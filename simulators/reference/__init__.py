"""Brian2 as an independent reference for our neuron dynamics (never name a module ``brian2``)."""

from simulators.reference.crosscheck import crosscheck_graph
from simulators.reference.lif_layer import brian2_lif_layer
from simulators.reference.network import brian2_network

__all__ = ["brian2_lif_layer", "brian2_network", "crosscheck_graph"]
