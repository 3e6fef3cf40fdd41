"""Data-parallel training on the CPU (gloo): two processes must train as one does on the same
global batch. Weights are compared after two SGD steps: with spiking neurons, float32 rounding
differences can flip a spike and grow from there, and AdamW's normalised steps magnify them too,
so longer runs agree only statistically."""

import os
import subprocess
import sys
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from test_train import _train_one_epoch_then_stop

from rshw.models import create_model
from rshw.models.blocks import SyncedBatchNorm
from rshw.training import checkpoint as ckpt
from rshw.training.config import TrainConfig
from rshw.training.distributed import leave_together
from rshw.training.train import local_batch_size, train

GLOBAL_BATCH = 50


def _config(out, **kw) -> TrainConfig:
    values = dict(
        model="scnn",
        dataset="cifar10-sample",
        timesteps=2,
        epochs=2,
        batch_size=GLOBAL_BATCH,
        train_limit=GLOBAL_BATCH,  # one step per epoch
        augment=False,  # crops are drawn per rank: they would differ from a single process's
        optimizer="sgd",
        out=str(out),
        device="cpu",
        precision="fp32",  # bf16 rounds the two halves' sums differently from the whole batch
    )
    values.update(kw)
    return TrainConfig(**values)


def _torchrun(cfg: TrainConfig, processes: int = 2) -> None:
    argv = [
        *("--model", cfg.model, "--dataset", cfg.dataset, "-T", str(cfg.timesteps)),
        *("--epochs", str(cfg.epochs), "--batch-size", str(cfg.batch_size)),
        *("--train-limit", str(cfg.train_limit), "--optimizer", cfg.optimizer),
        *("--no-augment", "--device", "cpu", "--out", cfg.out, "--quiet"),
        *("--precision", cfg.precision),
    ]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", str(processes), "-m", "rshw", "train", *argv]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]


def _assert_same_weights(a_stem, b_stem, tolerance=1e-2):
    """The two runs' weights differ by far less than training moved them: float32 summation
    order (per-rank halves against one batch) and the near-threshold spikes it flips leave
    differences of ~1e-4 of the update; a DDP that averaged twice or skipped the BatchNorm sync
    differs by a sizeable fraction of it."""
    a, meta = ckpt.load_checkpoint(a_stem)
    b, _ = ckpt.load_checkpoint(b_stem)
    torch.manual_seed(meta["seed"])  # the initial weights both runs started from
    start = create_model(
        meta["model"]["name"], **{k: v for k, v in meta["model"].items() if k != "name"}
    )
    initial = start.state_dict()
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        if not pa.is_floating_point():
            assert torch.equal(pa, pb), name
            continue
        moved = (pa - initial[name]).norm()
        assert (pb - pa).norm() <= tolerance * moved + 1e-9, name


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The reference: the same run in a single process."""
    out = tmp_path_factory.mktemp("one")
    return out, train(_config(out), quiet=True)


def test_two_processes_train_like_one(tmp_path, one_process):
    one_out, one = one_process
    _torchrun(_config(tmp_path))
    _assert_same_weights(one_out / "last", tmp_path / "last")
    meta = ckpt.read_metadata(tmp_path / "last")
    assert meta["processes"] == 2 and meta["train_config"]["batch_size"] == GLOBAL_BATCH
    # each process evaluated half of each split
    assert meta["val_acc"] == one["val_acc"]
    best = ckpt.read_metadata(tmp_path / "best")
    assert best["test_acc"] == one["test_acc"]
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows] == ["epoch", "1", "2"]  # written once, by rank 0


def test_two_processes_resume_a_single_process_run(tmp_path, monkeypatch, one_process):
    resumed = _config(tmp_path)
    _train_one_epoch_then_stop(resumed, monkeypatch)
    assert ckpt.read_metadata(tmp_path / "last")["epoch"] == 1
    _torchrun(resumed)
    assert ckpt.read_metadata(tmp_path / "last")["epoch"] == 2
    _assert_same_weights(one_process[0] / "last", tmp_path / "last")


def test_global_batch_must_split_evenly():
    assert local_batch_size(64, 2) == 32
    with pytest.raises(ValueError, match="global batch"):
        local_batch_size(50, 3)


def _batchnorm_share(rank: int, port: int, results) -> None:
    """One process of a two-process group: its half of the batch through SyncedBatchNorm."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    x, weights = _batchnorm_data()
    bn = _batchnorm()
    share = x[rank * 3 : rank * 3 + 3].clone().requires_grad_(True)
    y = bn(share)
    (y * weights[rank * 3 : rank * 3 + 3]).sum().backward()
    results.put(
        (rank, y.detach().numpy(), share.grad.numpy(), bn.weight.grad.numpy(),
         bn.running_var.numpy())
    )  # fmt: skip
    dist.destroy_process_group()


def _batchnorm_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, 5, 5, generator=g, dtype=torch.float64) * 0.1 + 3  # large mean
    return x, torch.randn(6, 4, 5, 5, generator=g, dtype=torch.float64)


def _batchnorm():
    bn = SyncedBatchNorm(4).double()
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 1.5, 4))
    return bn


def _two_processes(target, port: int, results: int) -> tuple[list, list]:
    """``target(rank, port, queue)`` in two spawned processes of a gloo group on ``port``: the
    first ``results`` items they put, and the processes (joined)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=target, args=(r, port, queue)) for r in range(2)]
    for w in workers:
        w.start()
    got = [queue.get(timeout=120) for _ in range(results)]
    for w in workers:
        w.join(timeout=60)
    return got, workers


def test_synced_batchnorm_equals_batchnorm_over_the_whole_batch():
    got, _ = _two_processes(_batchnorm_share, 29_000 + os.getpid() % 1000, 2)
    shares = {r[0]: r[1:] for r in got}
    x, weights = _batchnorm_data()
    x.requires_grad_(True)
    bn = _batchnorm()  # alone: plain BatchNorm2d
    y = bn(x)
    (y * weights).sum().backward()
    for rank, (y_share, grad_share, _, running_var) in shares.items():
        rows = slice(rank * 3, rank * 3 + 3)
        torch.testing.assert_close(torch.from_numpy(y_share), y[rows].detach())
        torch.testing.assert_close(torch.from_numpy(grad_share), x.grad[rows])
        torch.testing.assert_close(torch.from_numpy(running_var), bn.running_var)
    weight_grads = sum(torch.from_numpy(s[2]) for s in shares.values())
    torch.testing.assert_close(weight_grads, bn.weight.grad)  # each process holds its share


def _leave(rank: int, port: int, results) -> None:
    """Rank 0 arrives late, twice; each time rank 1 must wait for it (on the store, not gloo)."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    for _ in range(2):
        if rank == 0:
            time.sleep(0.5)
        arrived = time.time()
        leave_together()
        results.put((rank, arrived, time.time()))
    dist.destroy_process_group()


def test_leave_together_waits_for_the_last_process():
    times, workers = _two_processes(_leave, 30_000 + os.getpid() % 1000, 4)
    assert all(w.exitcode == 0 for w in workers)
    late = sorted(arrived for rank, arrived, _ in times if rank == 0)
    left = sorted(left for rank, _, left in times if rank == 1)
    assert len(late) == len(left) == 2
    for arrival, departure in zip(late, left, strict=True):
        assert departure >= arrival  # rank 1 left only once rank 0 had arrived
