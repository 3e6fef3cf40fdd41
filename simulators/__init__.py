"""Torch-free ground floor: the neuron arithmetic, IR and hardware models. Never imports torch or rshw."""
