"""Speed of the functional crossbar's ADC calibration (``functional.program`` with calibration
images) in one thread against the batches in worker threads, on ResNet19.

    python -m bench.cim_calibration [--calibration-images 64] [--preset neurosim-rram-22nm]
        [--dataset cifar10-sample]

ResNet19 (untrained, channel-wise, BatchNorm calibrated on 256 images) is programmed twice on
the same calibration images: with one worker (the baseline, measured in the same run: the
calibration as it was before the batches ran in threads; BLAS keeps its own threads) and with
``functional._workers()`` workers (``OMP_NUM_THREADS``, else the CPUs), one batch of
``_CALIBRATION_BATCH`` images each. Prints the times, their ratio and whether every ADC full
scale is the same, and writes ``bench/results/cim_calibration.json``.
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.cim_functional import resnet19_inputs
from bench.common import peak_rss_mb, print_and_write, timed
from simulators.cim import functional, load_config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calibration-images", type=int, default=64)
    p.add_argument("--preset", default="neurosim-rram-22nm")
    p.add_argument("--dataset", default="cifar10-sample")
    args = p.parse_args()
    graph, _, calibration = resnet19_inputs(args.dataset, 1, args.calibration_images)
    workers = functional._workers()
    chips, seconds = {}, {}
    real_workers = functional._workers
    config = load_config(args.preset)
    try:
        for n in (1, workers):
            functional._workers = lambda n=n: n
            chips[n], seconds[n] = timed(lambda: functional.program(graph, config, calibration))
    finally:
        functional._workers = real_workers
    same = all(
        np.array_equal(a, b)
        for name, layer in chips[1].layers.items()
        for a, b in zip(layer.full_scales, chips[workers].layers[name].full_scales, strict=True)
    )
    result = {
        "calibration_images": args.calibration_images,
        "batch": functional._CALIBRATION_BATCH,
        "preset": args.preset,
        "workers": workers,
        "one_worker_s": seconds[1],
        "workers_s": seconds[workers],
        "speedup": seconds[1] / seconds[workers],
        "same_full_scales": same,
        "peak_rss_mb": peak_rss_mb(),
    }
    print_and_write("cim_calibration", result)


if __name__ == "__main__":
    main()
