"""Data-parallel training under ``torchrun``: one flat all-reduce per step, no DDP wrapper.

A supernet step trains several subnets, and each leaves most of the weights without a gradient,
so ``DistributedDataParallel`` would need ``find_unused_parameters`` (a graph walk every
backward) and still all-reduce per backward. Instead no gradient is communicated during the
backward passes (every backward is trivially ``no_sync``): after the last backward of a step
:func:`all_reduce_step` packs every parameter's gradient (zeros where a rank has none), a
has-gradient flag per parameter, the step's losses and a non-finite flag into one flat tensor
and sums it across ranks once. Each rank scales its losses by its share of the global batch
before backward, so the sum is the gradient of the loss averaged over the *global* batch, also
when the shards differ in size. A parameter that no rank touched keeps ``grad=None``, so the
optimizer skips it as in a single process. Then every rank clips and steps identically; buffers
(BatchNorm running statistics, activation ranges) are broadcast from rank 0 so all ranks stay
bit-identical.

BatchNorm is synchronised (``train.sync_bn``, the default; see
:mod:`nasx.supernet.stats_sync`): inside the step every masked BatchNorm normalises with the
statistics of the global batch (one small differentiable all-reduce per BatchNorm call) and the
activation ranges are max-reduced, so a multi-process run computes what one process computes on
the global batch, up to float summation order.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

from nasx.data import Batch
from nasx.errors import NasxError, RunError

T = TypeVar("T")
# A step's collectives are short; a rank waiting this long at a barrier means a peer died.
_TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class Ranks:
    """Where this process sits in the job.

    Attributes:
        rank: global rank (0 writes files and prints).
        world: number of processes.
        local_rank: rank on this machine (picks the CUDA device).
    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """True on rank 0."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when there is more than one process."""
        return self.world > 1


def ranks_from_env() -> Ranks:
    """The ranks ``torchrun`` sets in ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (a single
    process when they are absent)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    if world < 1 or not 0 <= rank < world:
        raise RunError(f"bad torchrun environment: RANK={rank} WORLD_SIZE={world}")
    return Ranks(rank, world, local)


@contextmanager
def process_group(ranks: Ranks, device: torch.device) -> Iterator[None]:
    """Join the job's process group (gloo on CPU, nccl on CUDA) until exit; nothing when the
    job has one process or the group is already initialised by the caller."""
    if not ranks.distributed or dist.is_initialized():
        yield
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    kwargs: dict[str, Any] = {}
    if device.type == "cuda":
        torch.cuda.set_device(device)
        kwargs["device_id"] = device
    dist.init_process_group(backend, rank=ranks.rank, world_size=ranks.world, timeout=_TIMEOUT,
                            **kwargs)
    try:
        yield
    finally:
        dist.destroy_process_group()


def rank_device(device: torch.device, ranks: Ranks) -> torch.device:
    """``cuda`` without an index becomes ``cuda:<local rank>`` in a multi-process job."""
    if ranks.distributed and device.type == "cuda" and device.index is None:
        return torch.device("cuda", ranks.local_rank)
    return device


def main_first(ranks: Ranks, fn: Callable[[], T]) -> T | None:
    """Run ``fn`` on rank 0 only (file writes), then release the others.

    A :class:`NasxError` raised by ``fn`` is raised on every rank (with its message), so no rank
    is left waiting. Returns ``fn()`` on rank 0 and ``None`` elsewhere.
    """
    if not ranks.distributed:
        return fn()
    result, message = None, [None]
    if ranks.main:
        try:
            result = fn()
        except NasxError as err:
            message = [str(err)]
            dist.broadcast_object_list(message, src=0)
            raise
    dist.broadcast_object_list(message, src=0)
    if message[0] is not None:
        raise RunError(f"rank 0 failed: {message[0]}")
    return result


def barrier(ranks: Ranks) -> None:
    """Wait for every rank (nothing in a single process)."""
    if ranks.distributed:
        dist.barrier()


def shard(batch: Batch, ranks: Ranks) -> Batch:
    """This rank's contiguous share of a global batch.

    Shard sizes differ by at most one (the first ranks take the extra rows); a shard may be
    empty when the batch has fewer rows than there are ranks (it keeps the batch's length). Each
    non-empty shard is cut to its own longest sequence.
    """
    if not ranks.distributed:
        return batch
    n = len(batch.y)
    start = ranks.rank * (n // ranks.world) + min(ranks.rank, n % ranks.world)
    stop = start + n // ranks.world + (1 if ranks.rank < n % ranks.world else 0)
    lengths = batch.lengths[start:stop]  # (b,)
    # An empty shard keeps the batch's length: it still runs the step (synchronised statistics)
    longest = int(lengths.max()) if stop > start else batch.x.shape[-1]
    return Batch(x=batch.x[start:stop, :, :longest], lengths=lengths, y=batch.y[start:stop])


def all_reduce_step(
    net: nn.Module, losses: Sequence[float], finite: bool, weight: float
) -> tuple[list[float], bool]:
    """Sum this step's gradients and weighted losses over all ranks, in place, in one call.

    Args:
        net: the model; every parameter's ``.grad`` becomes ``sum_r grad_r`` (missing gradients
            count as zeros), or stays ``None`` when no rank has one. Each rank's gradients must
            come from its losses already scaled by its ``weight`` (``sandwich_step``'s
            ``loss_weight``): with synchronised BatchNorm a rank's gradient also carries the
            other ranks' losses through the shared statistics, so the weights cannot be applied
            afterwards.
        losses: this rank's step losses (per-sample means over its shard, unscaled), the same
            count on every rank.
        finite: whether this rank's losses were all finite.
        weight: this rank's share of the global batch, ``shard size / global batch size``.

    Returns:
        The global-batch losses (weighted sums) and whether every rank was finite.
    """
    params = list(net.parameters())
    device = params[0].device
    grads = [(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params]
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=device)
    tail = torch.tensor([*(v * weight for v in losses), 0.0 if finite else 1.0],
                        dtype=torch.float32, device=device)
    flat = torch.cat([*grads, has, tail])  # (P + len(params) + len(losses) + 1,)
    dist.all_reduce(flat)
    offset = 0
    for p, g in zip(params, grads, strict=True):
        p.grad = flat[offset : offset + g.numel()].view_as(p).clone()
        offset += g.numel()
    for p, count in zip(params, flat[offset : offset + len(params)].tolist(), strict=True):
        if count == 0:
            p.grad = None
    values = flat[offset + len(params) :].tolist()
    return values[:-1], values[-1] == 0


def broadcast_state(net: nn.Module, *, params: bool = False) -> None:
    """Copy rank 0's buffers (and parameters when ``params``) to every rank, one broadcast per
    dtype."""
    tensors = list(net.buffers()) + (list(net.parameters()) if params else [])
    by_dtype: dict[torch.dtype, list[Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    with torch.no_grad():
        for dtype, group in by_dtype.items():
            wire = torch.uint8 if dtype == torch.bool else dtype  # gloo has no bool
            flat = torch.cat([t.detach().flatten().to(wire) for t in group])
            dist.broadcast(flat, src=0)
            offset = 0
            for t in group:
                t.copy_(flat[offset : offset + t.numel()].view_as(t).to(dtype))
                offset += t.numel()


def gather_to_main(ranks: Ranks, value: T) -> list[T] | None:
    """Every rank's ``value`` on rank 0 (in rank order), ``None`` elsewhere."""
    if not ranks.distributed:
        return [value]
    out: list[T] | None = [value] * ranks.world if ranks.main else None
    dist.gather_object(value, out, dst=0)
    return out
