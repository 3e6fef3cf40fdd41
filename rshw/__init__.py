"""rshw: Real Spike SNNs from training to hardware numbers (torch floor)."""
