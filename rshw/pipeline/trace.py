"""Record the spike activity of an IR graph on real data (``rshw trace``).

Runs the numpy reference executor (:mod:`simulators.executor`) on the first N samples of a
dataset, chunk by chunk, and streams the spike maps of every spike-carrying edge into an
:class:`~simulators.activity.Activity` folder (bounded memory, progress bar). Tracing the IR,
not the torch model, guarantees that the activity belongs to exactly the graph the hardware
models simulate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from rshw.data import ArrayDataset, make_loader
from rshw.errors import OptionError
from simulators import executor
from simulators.activity import Activity, ActivityWriter
from simulators.ir import Graph


def trace(
    graph: Graph,
    dataset: ArrayDataset,
    samples: int,
    out: str | Path,
    chunk: int = 16,
    dtype=np.float32,
    progress: bool = True,
    seed: int = 0,
) -> tuple[Activity, np.ndarray]:
    """Trace ``samples`` samples drawn at random (seeded) from ``dataset``; returns the activity
    and the time-averaged logits ``[N, K]``."""
    if not 1 <= samples <= len(dataset):
        raise OptionError(
            f"samples must lie in 1..{len(dataset)} for {dataset.name!r} "
            f"({dataset.split}), got {samples}"
        )
    if chunk < 1:
        raise OptionError(f"chunk (samples per executor call) must be >= 1, got {chunk}")
    dataset = dataset.random_subset(samples, seed)
    expected = graph.input.shape
    if (dataset.in_channels, *dataset.input_size) != expected:
        raise OptionError(
            f"graph input is {expected} but {dataset.name!r} gives "
            f"{(dataset.in_channels, *dataset.input_size)}"
        )
    edges = {name: graph[name].shape for name in graph.spike_edges()}
    timesteps = int(graph.meta["timesteps"])
    meta = {
        "graph_fingerprint": graph.fingerprint(),
        "model": graph.meta.get("model"),
        "dataset": {"name": dataset.name, "split": dataset.split, "source": dataset.source},
        "samples": samples,
        "sample_seed": seed,
        "dtype": np.dtype(dtype).name,
    }
    loader = make_loader(dataset, chunk, shuffle=False, augment=False)
    logits, labels = [], []
    done = 0
    with (
        ActivityWriter(out, edges, timesteps, meta) as writer,
        tqdm(
            total=samples, desc="trace", unit="img", disable=not progress, dynamic_ncols=True
        ) as bar,
    ):
        for x, y in loader:
            take = min(len(y), samples - done)
            x = x.numpy()[:take] if x.dim() == 4 else x.numpy()[:, :take]
            result = executor.run(graph, x, timesteps=timesteps, dtype=dtype, keep=list(edges))
            writer.append({name: result[name].swapaxes(0, 1) for name in edges})
            logits.append(result[graph.output.name])
            labels.append(y.numpy()[:take])
            done += take
            bar.update(take)
            if done >= samples:
                break
        all_logits = np.concatenate(logits)
        correct = all_logits.argmax(1) == np.concatenate(labels)
        writer.meta["accuracy_on_traced_pct"] = float(correct.mean() * 100)
    return Activity.load(out), all_logits


def torch_lif_activity(
    model: torch.nn.Module, x: torch.Tensor
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Run a torch zoo model and record, per LIF module (by name), its spikes and its membrane
    potentials before reset ``[T, B, ...]``, plus the logits: what other simulators (the IR,
    Brian2) are compared against."""
    from rshw.training.neurons import LIF, lif_multistep

    spikes: dict[str, np.ndarray] = {}
    potentials: dict[str, np.ndarray] = {}

    def record(name: str):
        def hook(module, inputs, output):
            _, u = lif_multistep(inputs[0], module.tau, module.v_th, return_potential=True)
            spikes[name], potentials[name] = output.numpy(), u.numpy()

        return hook

    handles = [
        m.register_forward_hook(record(n)) for n, m in model.named_modules() if isinstance(m, LIF)
    ]
    try:
        with torch.no_grad():
            logits = model(x).numpy()
    finally:
        for h in handles:
            h.remove()
    return spikes, potentials, logits
