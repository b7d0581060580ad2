"""Batch statistics shared across the ranks of a data-parallel job (synchronised BatchNorm).

In data-parallel training each rank sees a shard of the global batch. Inside
:func:`synchronized_stats` the layers that measure their batch in training mode combine the
shards: the masked BatchNorm sums its per-channel (sum, sum of squares, count of valid steps)
over the ranks with one all-reduce and normalises with the global batch's mean and variance
(its running statistics then agree on every rank), and the activation quantizers
(:class:`~nasx.supernet.quant.ActQuant`) take the max of their ``max|x|`` over the ranks.

The BatchNorm all-reduce is differentiable: its backward all-reduces (sums) the gradients of the
statistics, so every rank's activations receive the gradient of the global-batch loss through
the shared mean and variance. That is exact when each rank's loss is scaled by its share of the
global batch *before* backward and the parameter gradients are then summed (what
:func:`nasx.train.sandwich.sandwich_step` with ``loss_weight`` and
:func:`nasx.train.distributed.all_reduce_step` do).

Every rank must then run the same forward and backward passes in the same order (the collectives
pair up), also with an empty shard. Outside the context manager (a single process, BatchNorm
recalibration and evaluation on rank 0 alone) nothing is communicated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch import Tensor

_ACTIVE: ContextVar[bool] = ContextVar("nasx_stats_sync", default=False)


@contextmanager
def synchronized_stats(enabled: bool = True) -> Iterator[None]:
    """Share training-mode batch statistics across ranks until exit (when ``enabled``).

    Requires an initialised ``torch.distributed`` process group; with one process, or
    ``enabled=False``, nothing changes.
    """
    token = _ACTIVE.set(enabled and dist.is_available() and dist.is_initialized()
                        and dist.get_world_size() > 1)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def stats_sync_active() -> bool:
    """True inside :func:`synchronized_stats` in a job of more than one process."""
    return _ACTIVE.get()


def sum_across_ranks(t: Tensor) -> Tensor:
    """``t`` summed over the ranks, differentiable (the backward sums the gradients too)."""
    return dist_fn.all_reduce(t, op=dist.ReduceOp.SUM)


@torch.no_grad()
def max_across_ranks(t: Tensor) -> Tensor:
    """The elementwise max of ``t`` over the ranks (no gradient)."""
    out = t.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.MAX)
    return out
