"""Distributed data parallel through ``torchrun``: process group, gradient averaging.

Launch any training command under torchrun, e.g.
``torchrun --nproc-per-node 2 -- $(which hangulgan) train dcgan --corpus corpus/ --run runs/x``
(the ``--`` keeps torchrun from reading ``--run`` as its own ``--run-path``).
Ranks use gloo on CPU and nccl on CUDA. Every rank builds the same networks from the same
seed, averages gradients with one flattened all-reduce per optimizer step (so all ranks
take identical steps), draws its own noise (seeded apart) and its own slice of each global
batch; only rank 0 writes to the run folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from hangulgan.train.contract import Runtime


@dataclass
class DistContext:
    """Where this process stands in a (possibly single-process) job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """True on the process that writes (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    """True when torchrun (or another env:// launcher) started this process in a group > 1."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device_type: str) -> DistContext:
    """Join the process group torchrun describes (a no-op context for a single process)."""
    if not launched_by_torchrun():
        return DistContext()
    backend = "nccl" if device_type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistContext(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        backend=backend,
    )


def shutdown_distributed(ctx: DistContext) -> None:
    """Leave the process group, if this process joined one."""
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


class DistributedRuntime(Runtime):
    """Averages gradients across ranks with one flattened all-reduce per call."""

    def __init__(self, ctx: DistContext) -> None:
        self.ctx = ctx
        self.world_size = ctx.world_size

    def reduce_gradients(self, params: Sequence[torch.Tensor]) -> None:
        """Replace each gradient by its mean over all ranks."""
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat.div_(self.world_size)
        for grad, averaged in zip(grads, _unflatten_dense_tensors(flat, grads), strict=True):
            grad.copy_(averaged)


def broadcast_modules(modules: Sequence[nn.Module], src: int = 0) -> None:
    """Copy parameters and buffers of ``modules`` from rank ``src`` to every rank."""
    with torch.no_grad():
        for module in modules:
            for tensor in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(tensor.data, src)


def any_rank(flag: bool, ctx: DistContext, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on at least one (for a common stop)."""
    if not ctx.distributed:
        return flag
    value = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def barrier(ctx: DistContext) -> None:
    """Wait for all ranks (no-op for one process)."""
    if ctx.distributed:
        dist.barrier()
