"""Re-parameterize ResNet19 and trace 64 CIFAR-10 images; compare with torch inference.

    python -m bench.reparam_trace [--samples 64] [--realspike channel] [--dataset cifar10]

Prints a table and writes bench/results/reparam_trace.json. The baseline, measured in the same
run, is the torch model's own forward pass on the same images; the ratio says what tracing
through the numpy executor costs on top of plain inference. It also counts, in float32, the
spikes where the folded network differs from the torch model (see ``float32_flips``) and the
largest logit difference of the trace against torch.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import torch

from bench.common import peak_rss_mb, print_and_write, timed
from rshw.data import load_dataset, make_loader
from rshw.models import create_model
from rshw.pipeline.reparam import reparameterize
from rshw.pipeline.trace import torch_lif_activity, trace
from rshw.training.calibrate import calibrate_batchnorm
from simulators import executor


def float32_flips(model, graph, x: torch.Tensor) -> dict:
    """Spikes where the float32 IR and the torch model disagree: layer by layer on equal inputs
    (a neuron's first flip must lie within 1e-5 of v_th; its later steps may follow through the
    reset), and running freely (flips then propagate downstream)."""
    spikes, potentials, _ = torch_lif_activity(model, x)
    forced = executor.run(graph, x.numpy(), inject=dict(spikes), potentials=True)
    free = executor.run(graph, x.numpy())
    layer_flips = first = near = free_flips = 0
    for name, theirs in spikes.items():
        v_th = model.get_submodule(name).v_th
        differ = (forced[f"{name}:u"] >= v_th) != theirs.astype(bool)
        first_differ = differ & (np.cumsum(differ, axis=0) == 1)  # later ones follow via reset
        layer_flips += int(differ.sum())
        first += int(first_differ.sum())
        near += int((first_differ & (np.abs(potentials[name] - v_th) < 1e-5)).sum())
        free_flips += int((free[name] != theirs).sum())
    return {
        "images_checked": len(x),
        "spikes_compared": int(sum(v.size for v in spikes.values())),
        "layerwise_flips": layer_flips,
        "layerwise_first_flips": first,
        "first_flips_within_1e-5": near,
        "free_running_flips": free_flips,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=64)
    p.add_argument("--realspike", default="channel")
    p.add_argument("--dataset", default="cifar10", help="cifar10 (searched) or cifar10-sample")
    p.add_argument("--data", default=None)
    p.add_argument("--check", type=int, default=8, help="images for the float32 spike check")
    args = p.parse_args()

    torch.manual_seed(0)
    test = load_dataset(args.dataset, args.data, "test")
    model = create_model("resnet19", realspike=args.realspike)
    calibrate_batchnorm(model, load_dataset(args.dataset, args.data, "train"), 256)
    x, _ = next(iter(make_loader(test, args.samples, shuffle=False, augment=False)))

    with torch.no_grad():
        _, torch_s = timed(lambda: model(x))
    graph, reparam_s = timed(lambda: reparameterize(model))
    with tempfile.TemporaryDirectory() as tmp:
        (activity, ours), trace_s = timed(
            lambda: trace(graph, test, args.samples, f"{tmp}/act", progress=False)
        )
        rate = float(np.mean([activity.rate(e) for e in activity.edges]))
    with torch.no_grad():
        logits = model(x).numpy()
    flips = float32_flips(model, graph, x[: args.check])
    result = {
        "model": "resnet19",
        "realspike": args.realspike,
        "samples": args.samples,
        "dataset": test.source,
        "torch_forward_s": torch_s,
        "reparam_s": reparam_s,
        "trace_s": trace_s,
        "trace_over_torch": trace_s / torch_s,
        **flips,
        "max_abs_logit_diff": float(np.abs(ours - logits).max()),
        "mean_firing_rate": rate,
        "peak_rss_mb": peak_rss_mb(),
    }
    print_and_write("reparam_trace", result)


if __name__ == "__main__":
    main()
