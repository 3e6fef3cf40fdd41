"""Torch-free ground floor: neuron arithmetic, the IR, hardware models. Never imports torch/rshw."""
