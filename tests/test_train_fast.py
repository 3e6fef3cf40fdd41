"""The fast training path: the fused LIF (same spikes and gradients as the eager loop), its
selection and fallback, the throughput benchmark, and, where a GPU is present, the CUDA path."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import rshw.training.neurons as neurons
from rshw.training.config import TrainConfig
from rshw.training.neurons import LIF_BACKEND_ENV, SURROGATES, lif_backend, lif_multistep
from rshw.training.train import train

ROOT = Path(__file__).resolve().parents[1]
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _run(x, backend, grad, grad_u=None, **kw):
    """Spikes (and potentials) and the input gradient of one LIF pass."""
    x = x.detach().clone().requires_grad_(True)
    if grad_u is None:
        out = lif_multistep(x, backend=backend, **kw)
        out.backward(grad)
    else:
        out = lif_multistep(x, backend=backend, return_potential=True, **kw)
        (out[0] * grad + out[1] * grad_u).sum().backward()
    return out, x.grad


def _inputs(shape=(5, 3, 4, 6, 6), dtype=torch.float64, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=dtype) * 0.6 + 0.3
    return x.to(device), torch.randn(shape, generator=g, dtype=dtype).to(device)


@pytest.fixture
def uncompiled(monkeypatch):
    """The fused autograd function with its loops run as plain Python (no compiler)."""
    monkeypatch.setattr(neurons, "_compile_failed", True)


@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("surrogate", sorted(SURROGATES))
def test_fused_backward_equals_autograd_of_the_eager_loop(uncompiled, surrogate, detach_reset):
    x, grad = _inputs()
    eager, eager_grad = _run(x, "eager", grad, surrogate=surrogate, detach_reset=detach_reset)
    fused, fused_grad = _run(x, "fused", grad, surrogate=surrogate, detach_reset=detach_reset)
    assert torch.equal(fused, eager)
    assert torch.equal(fused_grad, eager_grad)  # same operations in the same order


def test_fused_potentials_and_layouts(uncompiled):
    x, grad = _inputs(dtype=torch.float32)
    grad_u = torch.randn_like(x)
    (spikes, u), x_grad = _run(x, "eager", grad, grad_u)
    (fused_spikes, fused_u), fused_grad = _run(x, "fused", grad, grad_u)
    assert torch.equal(fused_spikes, spikes) and torch.equal(fused_u, u)
    torch.testing.assert_close(fused_grad, x_grad)  # three gradients add in another order
    last = x.flatten(0, 1).contiguous(memory_format=torch.channels_last).view(x.shape)
    out = lif_multistep(last, backend="fused")
    assert out.stride() == last.stride() and torch.equal(out, spikes)
    repeated = x[:1].expand_as(x)  # a static image repeated over T (stride 0 in time)
    assert torch.equal(lif_multistep(repeated, backend="fused"), lif_multistep(repeated))


def test_backend_choice(monkeypatch):
    x = torch.zeros(2, 3)
    assert lif_backend(x) == "eager"  # auto: fused on CUDA only
    assert lif_backend(x, "fused") == "fused"
    monkeypatch.setenv(LIF_BACKEND_ENV, "fused")
    assert lif_backend(x) == "fused" and lif_backend(x, "eager") == "eager"
    monkeypatch.setenv(LIF_BACKEND_ENV, "triton")
    with pytest.raises(ValueError, match="RSHW_LIF"):
        lif_multistep(x)


def test_a_failed_compile_falls_back_with_one_warning(monkeypatch):
    def broken(fn):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(neurons, "_compiled", broken)
    monkeypatch.setattr(neurons, "_compile_failed", False)
    x, grad = _inputs(dtype=torch.float32)
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler") as caught:
        spikes, x_grad = _run(x, "fused", grad)
        _run(x, "fused", grad)
    assert len(caught) == 1
    eager, eager_grad = _run(x, "eager", grad)
    assert torch.equal(spikes, eager) and torch.equal(x_grad, eager_grad)


@pytest.mark.slow  # torch.compile with a cold cache: about a minute on two CPU cores
def test_compiled_fused_lif_equals_eager_on_the_cpu():
    for surrogate, detach_reset in (("tanh", False), ("sigmoid", True)):
        x, grad = _inputs(dtype=torch.float32)
        kw = {"surrogate": surrogate, "detach_reset": detach_reset}
        eager, eager_grad = _run(x, "eager", grad, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a fallback would hide the compiler
            fused, fused_grad = _run(x, "fused", grad, **kw)
        assert torch.equal(fused, eager)
        torch.testing.assert_close(fused_grad, eager_grad, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # compiles the whole scnn training step on the CPU
def test_compiled_training_step_trains(tmp_path):
    cfg = TrainConfig(
        model="scnn",
        dataset="cifar10-sample",
        timesteps=2,
        batch_size=100,
        train_limit=200,
        compile=True,
        out=str(tmp_path),
        device="cpu",
    )
    assert train(cfg, quiet=True)["epoch"] == 1


def test_throughput_benchmark_runs_on_the_cpu(tmp_path):
    command = [sys.executable, "-m", "bench.train_throughput", "--device", "cpu"]
    command += ["--steps", "1", "--warmup", "1", "--batch-size", "2", "-T", "1"]
    command += ["--model", "scnn", "--input-shape", "1x28x28", "--precisions", "fp32,bf16"]
    command += ["--results-dir", str(tmp_path), "--name", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two threads on shared cores mostly wait
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads((tmp_path / "cpu.json").read_text())
    ours = [r for r in record["results"] if r["variant"] == "rshw"]
    assert [r["precision"] for r in ours] == ["fp32", "bf16"]
    assert all(r["lif"] == "eager" and r["img_per_s"] > 0 for r in ours)
    assert ours[0]["ratio_vs_fp32"] == 1.0
    assert ours[1]["ratio_vs_fp32"] == ours[1]["img_per_s"] / ours[0]["img_per_s"]
    agreement = record["bf16_spike_agreement"]
    assert 0 < agreement["spikes_fired_fp32"] < agreement["spikes_compared"]
    assert 0 <= agreement["spikes_differing_bf16"] < agreement["spikes_compared"]
    if len(ours) == len(record["results"]):
        assert "bring the wheels along" in run.stdout  # spikingjelly is not installed here


def test_spikingjelly_stand_in_has_our_dynamics():
    """The benchmark's SpikingJelly neuron computes our spikes and gradients (same model)."""
    pytest.importorskip("spikingjelly")
    from bench.train_throughput import SpikingJellyLIF

    ours = neurons.LIF(surrogate="sigmoid")
    theirs = SpikingJellyLIF(ours)
    x, grad = _inputs()
    spikes, x_grad = _run(x, "eager", grad, surrogate="sigmoid")
    x = x.clone().requires_grad_(True)
    for _ in range(2):  # the second pass starts from rest again
        x.grad = None
        their_spikes = theirs(x)
        their_spikes.backward(grad)
        assert torch.equal(their_spikes, spikes)
        torch.testing.assert_close(x.grad, x_grad)


@cuda
def test_fused_lif_on_cuda_equals_eager():
    x, grad = _inputs((4, 16, 64, 16, 16), dtype=torch.float32, device="cuda")
    assert lif_backend(x) == "fused"
    eager, eager_grad = _run(x, "eager", grad)
    fused, fused_grad = _run(x, "auto", grad)
    same = (fused == eager).all(0)  # neurons whose spikes agree at every step
    assert same.float().mean().item() > 1 - 1e-5  # float32: at most an FMA's rounding apart
    torch.testing.assert_close(fused_grad[:, same], eager_grad[:, same], rtol=1e-4, atol=1e-5)
    with torch.autocast("cuda", dtype=torch.bfloat16):  # fused carries u in float32 registers
        bf16_eager, _ = _run(x.bfloat16(), "eager", grad.bfloat16())
        bf16_fused, _ = _run(x.bfloat16(), "auto", grad.bfloat16())
    assert (bf16_fused != bf16_eager).float().mean().item() < 1e-2


@cuda
def test_training_on_cuda(tmp_path):
    cfg = TrainConfig(
        model="scnn",
        dataset="cifar10-sample",
        timesteps=2,
        batch_size=100,
        out=str(tmp_path),
        device="cuda",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback from the fused LIF
        result = train(cfg, quiet=True)
    assert result["epoch"] == 1 and result["train_loss"] < 10
