"""Speed of the functional crossbar (``simulators.cim.functional``) against the ideal executor.

    python -m bench.cim_functional [--ckpt RUN/best] [--images 10000] [--preset neurosim-rram-22nm]
        [--data /path/to/mnist] [--resnet19-images 8] [--resnet19-batch 8]

Two workloads, each timed for the ideal executor (``simulators.executor.run``, the baseline,
measured in the same run on the same inputs) and the functional crossbar (programming and
running apart): ``scnn`` (channel-wise Real Spike; ``--ckpt``, else the shipped checkpoint,
else an untrained stand-in) on ``--images`` MNIST test images in batches of 500, and ResNet19
(untrained, channel-wise, BatchNorm calibrated on 256 images; ADC ranges calibrated on 8
training images) on ``--resnet19-images`` CIFAR-10 test images, twice on one programmed chip:
image by image (the old loop) and in batches of ``--resnet19-batch`` (vectorized over images),
and in batches on a chip programmed with one column kind per matmul operand (``pack=False``,
the path before two kinds were packed into one operand), with the ratios, a check that all
three give the same logits, and the time 1,000 images would take (ideal executor, as a trace
runs it, plus the batched functional run, per image × 1,000).
Prints a table and writes ``bench/results/cim_functional.json``.
"""

from __future__ import annotations

import argparse
import os
import time

from bench.common import peak_rss_mb, timed, write_result
from simulators import executor
from simulators.cim import functional, load_config


def cpu_timed(fn):
    """``(value, wall s, CPU s of this process)``: on a shared machine the CPU time is the cost."""
    start = time.process_time()
    value, wall_s = timed(fn)
    return value, wall_s, time.process_time() - start


def batched_against_loop(graph, x, calibration, preset: str, batch: int) -> dict:
    """One programmed chip, the same images: one at a time, then ``batch`` at a time."""
    import numpy as np

    chip, program_s = timed(lambda: functional.program(graph, load_config(preset), calibration))
    plain = functional.program(graph, load_config(preset), calibration, pack=False)
    out = graph.output.name
    _, ideal_s, _ = cpu_timed(
        lambda: [executor.run(graph, x[s : s + batch]) for s in range(0, len(x), batch)]
    )
    loop, loop_s, loop_cpu_s = cpu_timed(
        lambda: [functional.run(chip, x[i : i + 1])[out] for i in range(len(x))]
    )
    batched, batched_s, batched_cpu_s = cpu_timed(
        lambda: [functional.run(chip, x[s : s + batch])[out] for s in range(0, len(x), batch)]
    )
    unpacked, unpacked_s, _ = cpu_timed(
        lambda: [functional.run(plain, x[s : s + batch])[out] for s in range(0, len(x), batch)]
    )
    return {
        "workload": "resnet19/cifar10",
        "preset": preset,
        "images": len(x),
        "batch": batch,
        "program_s": program_s,
        "ideal_s": ideal_s,
        "loop_s": loop_s,
        "loop_cpu_s": loop_cpu_s,
        "batched_s": batched_s,
        "batched_cpu_s": batched_cpu_s,
        "loop_over_batched": loop_s / batched_s,
        "unpacked_s": unpacked_s,
        "unpacked_over_packed": unpacked_s / batched_s,
        "batched_ms_per_image": 1e3 * batched_s / len(x),
        "projected_1000_images_min": 1000 * (ideal_s + batched_s) / len(x) / 60,
        "same_logits": bool(
            np.array_equal(np.concatenate(loop), np.concatenate(batched))
            and np.array_equal(np.concatenate(unpacked), np.concatenate(batched))
        ),
    }


def measure(name: str, graph, x, calibration, preset: str, batch: int) -> dict:
    """Ideal and functional wall and CPU time on the same inputs, batch by batch."""
    chip, program_s = timed(lambda: functional.program(graph, load_config(preset), calibration))
    ideal_s = functional_s = ideal_cpu_s = functional_cpu_s = 0.0
    agree = 0
    for s in range(0, len(x), batch):
        ideal, t_ideal, c_ideal = cpu_timed(lambda s=s: executor.run(graph, x[s : s + batch]))
        got, t_func, c_func = cpu_timed(lambda s=s: functional.run(chip, x[s : s + batch]))
        ideal_s, functional_s = ideal_s + t_ideal, functional_s + t_func
        ideal_cpu_s, functional_cpu_s = ideal_cpu_s + c_ideal, functional_cpu_s + c_func
        out = graph.output.name
        agree += int((ideal[out].argmax(1) == got[out].argmax(1)).sum())
    return {
        "workload": name,
        "preset": preset,
        "images": len(x),
        "ideal_s": ideal_s,
        "program_s": program_s,
        "functional_s": functional_s,
        "ideal_cpu_s": ideal_cpu_s,
        "functional_cpu_s": functional_cpu_s,
        "functional_over_ideal": functional_s / ideal_s,
        "functional_over_ideal_cpu": functional_cpu_s / ideal_cpu_s,
        "functional_ms_per_image": 1e3 * functional_s / len(x),
        "top1_agreement_with_ideal": agree / len(x),
    }


def scnn_inputs(ckpt: str | None, data: str | None, images: int):
    from rshw.data import load_dataset
    from rshw.pipeline.hardware_accuracy import normalized_arrays
    from rshw.pipeline.prepare import prepare

    train = load_dataset("mnist", data, "train")
    test = load_dataset("mnist", data, "test")
    prep = prepare("scnn", "channel", train, ckpt)
    x, _ = normalized_arrays(test, images, 0)
    calibration, _ = normalized_arrays(train, 256, 0)
    return prep.graph, x, calibration, prep.label


def resnet19_inputs(dataset: str, images: int, calibration_images: int = 8):
    from rshw.data import load_dataset
    from rshw.pipeline.hardware_accuracy import normalized_arrays
    from rshw.pipeline.prepare import prepare

    train = load_dataset(dataset, None, "train")
    test = load_dataset(dataset, None, "test")
    prep = prepare("resnet19", "channel", train, say=lambda line: None)
    x, _ = normalized_arrays(test, images, 0)
    calibration, _ = normalized_arrays(train, calibration_images, 0)
    return prep.graph, x, calibration


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", default=None, help="scnn channel-wise checkpoint")
    p.add_argument("--data", default=None, help="MNIST folder (default: searched)")
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--preset", default="neurosim-rram-22nm")
    p.add_argument("--resnet19-images", type=int, default=8)
    p.add_argument("--resnet19-batch", type=int, default=8)
    p.add_argument("--resnet19-dataset", default="cifar10-sample")
    args = p.parse_args()

    graph, x, calibration, label = scnn_inputs(args.ckpt, args.data, args.images)
    runs = [{**measure("scnn/mnist", graph, x, calibration, args.preset, 500), "network": label}]
    graph, x, calibration = resnet19_inputs(args.resnet19_dataset, args.resnet19_images)
    resnet = batched_against_loop(graph, x, calibration, args.preset, args.resnet19_batch)
    columns = ("workload", "images", "ideal_s", "program_s", "functional_s", "ideal_cpu_s")
    columns += ("functional_cpu_s", "functional_over_ideal", "functional_ms_per_image")
    columns += ("top1_agreement_with_ideal",)
    _table(runs, columns)
    columns = ("workload", "images", "batch", "ideal_s", "loop_s", "batched_s", "unpacked_s")
    columns += ("loop_over_batched", "unpacked_over_packed", "batched_ms_per_image")
    columns += ("projected_1000_images_min",)
    columns += ("same_logits",)
    _table([resnet], columns)
    runs.append({**resnet, "network": "untrained"})
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    result = {"runs": runs, "peak_rss_mb": peak_rss_mb(), "omp_num_threads": threads}
    print(
        f"peak RSS {result['peak_rss_mb']:.0f} MiB; wrote {write_result('cim_functional', result)}"
    )


def _table(runs: list[dict], columns: tuple[str, ...]) -> None:
    print("  ".join(f"{c:>16.16s}" for c in columns))
    for run in runs:
        print(
            "  ".join(
                f"{run[c]:>16.4g}" if isinstance(run[c], float) else f"{run[c]!s:>16.16s}"
                for c in columns
            )
        )


if __name__ == "__main__":
    main()
