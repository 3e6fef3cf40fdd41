"""Training throughput: rshw's training step against SpikingJelly's multi-step ``LIFNode`` in the
same ResNet19, measured in one run on one device.

    python -m bench.train_throughput                              # CUDA: T=4, batch 64, bf16
    python -m bench.train_throughput --device cpu --steps 3 --batch-size 8

Variants (``--variants``, comma-separated):

- ``rshw``: the step ``rshw train`` runs (:func:`rshw.training.train.train_step`): the fused LIF
  on CUDA,
  channels-last, bf16 autocast (CUDA only), SGD with momentum;
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
from rshw.training.neurons import LIF, LIF_BACKEND_ENV, lif_backend
from rshw.training.train import TrainConfig, build_optimizer, prepare_model, to_device, train_step

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


def build(variant: str, args: argparse.Namespace, device: torch.device):
    """The optimizer and the model the step calls, for one variant; every variant starts from
    the same seed, so from the same weights."""
    torch.manual_seed(0)
    model = create_model(
        "resnet19", realspike=args.realspike, timesteps=args.timesteps, surrogate="sigmoid"
    )
    if variant == "spikingjelly":
        for act in model.modules():
            if isinstance(act, SpikeAct):
                act.lif = SpikingJellyLIF(act.lif)
    model = prepare_model(model, device)
    optimizer = build_optimizer(model, TrainConfig(optimizer="sgd"))
    step_model = torch.compile(model) if variant == "rshw-compiled" else model
    return optimizer, step_model


def measure(variant: str, args: argparse.Namespace, device: torch.device) -> dict:
    """Warm-up, then ``args.steps`` timed training steps on a fixed synthetic batch."""
    optimizer, step_model = build(variant, args, device)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch_size, 3, 32, 32, generator=generator)
    y = torch.randint(0, 10, (args.batch_size,), generator=generator)
    x, y = to_device(x, y, device)

    def step() -> torch.Tensor:
        return train_step(step_model, optimizer, x, y)[0]

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
        "img_per_s": args.steps * args.batch_size / seconds,
        "ms_per_step": 1000 * seconds / args.steps,
        "peak_memory_mb": _peak_memory_mb(device),
        "warmup_s": warmup_s,
        "first_loss": first_loss,
    }
    if variant == "rshw":
        record["lif"] = lif_backend(x.unsqueeze(0))
    return record


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
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    results = []
    for variant in variants:
        results.append(measure(variant, args, device))
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the next variant starts from a clean allocator
    baseline = next((r for r in results if r["variant"] == "spikingjelly"), None)
    for r in results:
        if baseline is not None:
            r["ratio_vs_spikingjelly"] = r["img_per_s"] / baseline["img_per_s"]
    print_table(results)
    record = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "spikingjelly": version("spikingjelly") if have_spikingjelly else BRING_SPIKINGJELLY,
        "git_revision": git_revision(),
        "model": "resnet19",
        "realspike": args.realspike,
        "timesteps": args.timesteps,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "warmup": args.warmup,
        "autocast": "bfloat16" if device.type == "cuda" else "none (float32)",
        "optimizer": "sgd, momentum 0.9, weight decay 5e-4",
        "lif_backend_env": os.environ.get(LIF_BACKEND_ENV),
        "results": results,
    }
    path = write_result(args.name or f"train_throughput_{device.type}", record, args.results_dir)
    print(f"wrote {path}")
    return record


def print_table(results: list[dict]) -> None:
    print(
        f"{'variant':15s} {'img/s':>9s} {'ms/step':>9s} {'peak MiB':>9s} {'warm-up s':>10s}  ratio"
    )
    for r in results:
        ratio = r.get("ratio_vs_spikingjelly")
        print(
            f"{r['variant']:15s} {r['img_per_s']:9.1f} {r['ms_per_step']:9.1f} "
            f"{r['peak_memory_mb']:9.0f} {r['warmup_s']:10.1f}  "
            + (f"{ratio:.2f}x" if ratio is not None else "-")
        )


if __name__ == "__main__":
    main()
