"""Data-parallel training across processes, as ``torchrun`` starts them.

``torchrun --nproc-per-node N -m rshw train ...`` starts N copies of the command and tells each
its place through the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``). :func:`setup` joins the process group they describe: NCCL between GPUs (one per
process, ``cuda:LOCAL_RANK``), gloo between CPU processes. Without those variables nothing is set
up and training runs in one process.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from rshw.errors import OptionError


@dataclass(frozen=True)
class Process:
    """This process's place in the run; ``world_size == 1`` for a plain single-process run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints, metrics and progress."""
        return self.rank == 0


def setup(device: torch.device) -> tuple[Process, torch.device]:
    """Join the process group that torchrun's environment describes; returns this process's place
    and the device it trains on (``cuda`` becomes ``cuda:LOCAL_RANK``)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Process(), device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if device.index not in (None, local_rank):
            raise OptionError(
                f"under torchrun each process trains on cuda:LOCAL_RANK; got --device {device} "
                "(pass --device cuda or auto)"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    owns_group = not dist.is_initialized()
    if owns_group:
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, device_id=device if device.type == "cuda" else None)
    return Process(rank, world_size, local_rank, owns_group), device


def teardown(process: Process) -> None:
    """Leave the process group if :func:`setup` created it."""
    if process.owns_group and dist.is_initialized():
        dist.destroy_process_group()


_finished_runs = itertools.count()


def leave_together() -> None:
    """Wait until every process has finished its run, through the rendezvous store: the last step
    of a successful run, before :func:`teardown` (a no-op without a process group).

    Not a collective, on purpose. gloo drops a collective's work, and with it the last C++
    reference to its tensors, in a worker thread after ``wait()`` has returned; that needs the
    GIL. DistributedDataParallel keeps the process group and those threads alive past
    ``destroy_process_group`` (torch 2.13), so a process that reaches interpreter shutdown first
    aborts with "terminate called without an active exception" (seen as rank 1 finishing while
    rank 0 still writes its checkpoint; pytorch/pytorch PR 179291 describes the same crash).
    Waiting on the store releases the GIL, so the worker finishes, and no process leaves early."""
    if world_size() <= 1:
        return
    store = dist.distributed_c10d._get_default_store()
    key = f"rshw/finished/{next(_finished_runs)}"
    if store.add(key, 1) == dist.get_world_size():
        store.set(f"{key}/all", "1")
    store.wait([f"{key}/all"])


def world_size() -> int:
    """Processes in the active group (1 when none is active)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def barrier() -> None:
    """Wait for every process (a no-op without a process group)."""
    if world_size() > 1:
        dist.barrier()


def sum_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over every process (itself when alone); not differentiable."""
    if world_size() > 1:
        tensor = tensor.clone()
        dist.all_reduce(tensor)
    return tensor


def gather_from_processes(tensor: torch.Tensor) -> torch.Tensor:
    """Every process's ``tensor``, stacked in rank order (``[world_size, ...]``). Differentiable:
    a loss on one process reaches the tensor of every other process through the gather."""
    return _GatherFromProcesses.apply(tensor) if world_size() > 1 else tensor.unsqueeze(0)


class _GatherFromProcesses(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor.contiguous())
        return torch.stack(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        # every process's loss saw this process's row: their gradients add up
        return sum_over_processes(grad)[dist.get_rank()]
