"""Training: LIF neurons and surrogates, Real Spike, the training loop, checkpoints, DDP."""
