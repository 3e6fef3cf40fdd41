"""The pipeline every command shares: a plan of frozen records resolved once from a request
(:mod:`~rshw.pipeline.plan`), then cached stages (:mod:`~rshw.pipeline.stages`: fold, trace,
verify, simulate, accuracy) run through one wrapper that owns keys, lookup, damage, ``--force``,
atomic publish and timing. ``simulate`` and ``sweep`` are sequences of those stages."""
