"""The simulate pipeline: prepare (checkpoint or stand-in), fold (reparam), trace, verify,
run each hardware model through one protocol, cache, sweep."""
