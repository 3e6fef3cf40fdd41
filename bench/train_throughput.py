"""Training throughput: rshw's training step against SpikingJelly's multi-step ``LIFNode`` in the
same ResNet19, measured in one run on one device.

    python -m bench.train_throughput                              # CUDA: T=4, batch 64, bf16
    python -m bench.train_throughput --device cpu --steps 3 --batch-size 8
    python -m bench.train_throughput --device cpu --model scnn --input-shape 1x28x28 \
        --variants rshw --steps 20 --warmup 3                     # CPU float32 against bf16

Each variant runs at every precision of ``--precisions`` (default: fp32 and bf16 on a CPU that
has native bf16, bf16 on CUDA); ``ratio_vs_fp32`` is its speed over the same variant in float32,
measured in the same run. ``spikes_differing_bf16`` counts, on one fixed batch, the spikes of
every LIF layer that differ between a float32 forward pass and a bf16-autocast one (same
weights), out of ``spikes_compared``.

Variants (``--variants``, comma-separated):

- ``rshw``: the step ``rshw train`` runs (:func:`rshw.training.train.train_step`): the fused LIF
  on CUDA, channels-last, the chosen precision, SGD with momentum;
- ``rshw-compiled``: the same with the whole model under ``torch.compile``
  (``TrainConfig.compile``);
- ``spikingjelly``: the same model and step with every LIF replaced by SpikingJelly 2.0's
  multi-step ``LIFNode`` (its default backend) set to the same dynamics and surrogate.

Both use the sigmoid surrogate, which SpikingJelly has too. Data are synthetic CIFAR-shaped
batches already on the device, so the numbers are the training step alone; warm-up steps
(compilation, cuDNN autotuning) are timed apart. Prints img/s, peak memory (CUDA: allocated by
torch after warm-up; CPU: the process's peak resident memory so far) and the ratio to
SpikingJelly; writes ``bench/results/train_throughput_<cpu|cuda>.json``.

SpikingJelly (pure Python) and its one missing dependency, loguru, are imported only when
present. For a machine that cannot install packages, bring their wheels in a git-ignored folder::

    echo /.whl/ >> .git/info/exclude
    python -m pip download --no-deps -d .whl spikingjelly==2.0.0 loguru==0.7.3

and there, before running this script::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from importlib.metadata import version

import torch
from torch import nn

from bench.common import peak_rss_mb, write_result
from rshw.models import create_model
from rshw.models.blocks import SpikeAct
from rshw.training.checkpoint import git_revision
from rshw.training.config import TrainConfig
from rshw.training.device import autocast, bf16_supported, prepare_model, to_device
from rshw.training.neurons import LIF, LIF_BACKEND_ENV, lif_backend
from rshw.training.train import build_optimizer, train_step

VARIANTS = ("rshw", "rshw-compiled", "spikingjelly")
BRING_SPIKINGJELLY = (
    "spikingjelly is not installed: `pip install spikingjelly==2.0.0 loguru`, or bring the "
    "wheels along (see this script's docstring)"
)


class SpikingJellyLIF(nn.Module):
    """SpikingJelly's multi-step ``LIFNode`` with the dynamics of ``lif``:
    ``H = V - V/tau_sj + X`` with ``tau_sj = 1/(1 - tau)`` is ``tau·V + X``; hard reset to 0."""

    def __init__(self, lif: LIF) -> None:
        super().__init__()
        from spikingjelly.activation_based import neuron, surrogate

        if lif.surrogate != "sigmoid":
            raise ValueError("the comparison uses the sigmoid surrogate (SpikingJelly's default)")
        self.node = neuron.LIFNode(
            tau=1.0 / (1.0 - lif.tau),
            decay_input=False,
            v_threshold=lif.v_th,
            v_reset=0.0,
            surrogate_function=surrogate.Sigmoid(alpha=4.0),
            detach_reset=lif.detach_reset,
            step_mode="m",
        )

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self.node.reset()  # every batch starts from rest, as ours does
        return self.node(x_seq)


def _model(args: argparse.Namespace) -> nn.Module:
    """The benchmarked network, from seed 0 (every variant and precision: the same weights)."""
    torch.manual_seed(0)
    channels, height, width = args.input_shape
    return create_model(
        args.model,
        realspike=args.realspike,
        timesteps=args.timesteps,
        surrogate="sigmoid",
        in_channels=channels,
        input_size=(height, width),
    )


def _batch(args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch_size, *args.input_shape, generator=generator)
    y = torch.randint(0, 10, (args.batch_size,), generator=generator)
    return x, y


def build(variant: str, args: argparse.Namespace, device: torch.device, precision: str):
    """The optimizer and the model the step calls, for one variant; every variant starts from
    the same seed, so from the same weights."""
    model = _model(args)
    if variant == "spikingjelly":
        for act in model.modules():
            if isinstance(act, SpikeAct):
                act.lif = SpikingJellyLIF(act.lif)
    model = prepare_model(model, device, precision)
    optimizer = build_optimizer(model, TrainConfig(optimizer="sgd"))
    step_model = torch.compile(model) if variant == "rshw-compiled" else model
    return optimizer, step_model


def measure(variant: str, args: argparse.Namespace, device: torch.device, precision: str) -> dict:
    """Warm-up, then ``args.steps`` timed training steps on a fixed synthetic batch."""
    optimizer, step_model = build(variant, args, device, precision)
    x, y = to_device(*_batch(args), device, precision)

    def step() -> torch.Tensor:
        return train_step(step_model, optimizer, x, y, precision)[0]

    start = time.perf_counter()
    first_loss = step().item()
    for _ in range(args.warmup - 1):
        step()
    _synchronize(device)
    warmup_s = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    _synchronize(device)
    seconds = time.perf_counter() - start
    record = {
        "variant": variant,
        "precision": precision,
        "img_per_s": args.steps * args.batch_size / seconds,
        "ms_per_step": 1000 * seconds / args.steps,
        "peak_memory_mb": _peak_memory_mb(device),
        "warmup_s": warmup_s,
        "first_loss": first_loss,
    }
    if variant == "rshw":
        record["lif"] = lif_backend(x.unsqueeze(0))
    return record


@torch.no_grad()
def bf16_spike_agreement(args: argparse.Namespace, device: torch.device) -> dict:
    """Spikes of every LIF layer on one fixed batch, float32 against bf16 autocast (the same
    weights, BatchNorm in training mode as in the step): how many differ."""
    model = _model(args).to(device)
    x, _ = _batch(args)
    x = x.to(device)

    def spikes(precision: str) -> list[torch.Tensor]:
        recorded: list[torch.Tensor] = []
        hooks = [
            m.register_forward_hook(lambda _m, _i, out: recorded.append(out.bool().cpu()))
            for m in model.modules()
            if isinstance(m, LIF)
        ]
        try:
            with autocast(device, precision):
                model(x)
        finally:
            for h in hooks:
                h.remove()
        return recorded

    full, half = spikes("fp32"), spikes("bf16")
    return {
        "spikes_compared": sum(s.numel() for s in full),
        "spikes_differing_bf16": int(sum((a != b).sum() for a, b in zip(full, half, strict=True))),
        "spikes_fired_fp32": int(sum(s.sum() for s in full)),
    }


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return peak_rss_mb()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto|cpu|cuda")
    p.add_argument("--steps", type=int, default=50, help="timed steps per variant")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first (at least 1)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--timesteps", "-T", type=int, default=4)
    p.add_argument("--realspike", default="none", help="none (tdBN ResNet19) | channel | ...")
    p.add_argument("--model", default="resnet19", help="zoo model (default resnet19)")
    p.add_argument(
        "--input-shape",
        default="3x32x32",
        type=lambda s: tuple(int(v) for v in s.split("x")),
        help="CxHxW of the synthetic images (MNIST: 1x28x28)",
    )
    p.add_argument(
        "--precisions",
        default=None,
        help="comma-separated of fp32, bf16 (default: both on a CPU with native bf16, "
        "bf16 on CUDA)",
    )
    p.add_argument(
        "--variants",
        default=None,
        help=f"comma-separated, of {', '.join(VARIANTS)} (default: all on CUDA; "
        "rshw,spikingjelly on the CPU, where compiling takes minutes)",
    )
    p.add_argument("--name", default=None, help="result file name (default train_throughput_DEV)")
    p.add_argument("--results-dir", default=None, help="where to write it (default bench/results)")
    args = p.parse_args(argv)
    if args.steps < 1 or args.warmup < 1:
        p.error("--steps and --warmup must be at least 1")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    default = VARIANTS if device.type == "cuda" else ("rshw", "spikingjelly")
    variants = args.variants.split(",") if args.variants else list(default)
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variant(s) {sorted(unknown)}; choose from {VARIANTS}")
    have_spikingjelly = importlib.util.find_spec("spikingjelly") is not None
    if "spikingjelly" in variants and not have_spikingjelly:
        print(f"skipping spikingjelly: {BRING_SPIKINGJELLY}")
        variants.remove("spikingjelly")
    if args.precisions:
        precisions = args.precisions.split(",")
    elif device.type == "cuda":
        precisions = ["bf16"]
    else:
        precisions = ["fp32", "bf16"] if bf16_supported(device) else ["fp32"]
    if set(precisions) - {"fp32", "bf16"}:
        raise SystemExit(f"unknown precision(s) in {precisions}; choose from fp32, bf16")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    results = []
    for variant in variants:
        for precision in precisions:
            results.append(measure(variant, args, device, precision))
            if device.type == "cuda":
                torch.cuda.empty_cache()  # the next variant starts from a clean allocator
    for r in results:
        same = {q["precision"]: q for q in results if q["variant"] == r["variant"]}
        baseline = next(
            (
                q
                for q in results
                if q["variant"] == "spikingjelly" and q["precision"] == r["precision"]
            ),
            None,
        )
        if baseline is not None:
            r["ratio_vs_spikingjelly"] = r["img_per_s"] / baseline["img_per_s"]
        if "fp32" in same:
            r["ratio_vs_fp32"] = r["img_per_s"] / same["fp32"]["img_per_s"]
    print_table(results)
    agreement = bf16_spike_agreement(args, device) if "bf16" in precisions else None
    if agreement is not None:
        print(
            f"bf16 against fp32 on one batch: {agreement['spikes_differing_bf16']:,} of "
            f"{agreement['spikes_compared']:,} spikes differ "
            f"({agreement['spikes_fired_fp32']:,} fired in fp32)"
        )
    record = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "spikingjelly": version("spikingjelly") if have_spikingjelly else BRING_SPIKINGJELLY,
        "git_revision": git_revision(),
        "model": args.model,
        "input_shape": list(args.input_shape),
        "threads": torch.get_num_threads(),
        "bf16_spike_agreement": agreement,
        "realspike": args.realspike,
        "timesteps": args.timesteps,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "warmup": args.warmup,
        "precisions": precisions,
        "optimizer": "sgd, momentum 0.9, weight decay 5e-4",
        "lif_backend_env": os.environ.get(LIF_BACKEND_ENV),
        "results": results,
    }
    path = write_result(args.name or f"train_throughput_{device.type}", record, args.results_dir)
    print(f"wrote {path}")
    return record


def print_table(results: list[dict]) -> None:
    print(
        f"{'variant':15s} {'precision':9s} {'img/s':>9s} {'ms/step':>9s} {'peak MiB':>9s} "
        f"{'warm-up s':>10s}  {'vs SJ':>6s}  {'vs fp32':>7s}"
    )
    for r in results:
        ratios = [r.get("ratio_vs_spikingjelly"), r.get("ratio_vs_fp32")]
        shown = [f"{v:.2f}x" if v is not None else "-" for v in ratios]
        print(
            f"{r['variant']:15s} {r['precision']:9s} {r['img_per_s']:9.1f} "
            f"{r['ms_per_step']:9.1f} {r['peak_memory_mb']:9.0f} {r['warmup_s']:10.1f}  "
            f"{shown[0]:>6s}  {shown[1]:>7s}"
        )


if __name__ == "__main__":
    main()
