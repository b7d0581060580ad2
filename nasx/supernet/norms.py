"""Batch normalisation over valid time steps only, on a (possibly sliced) BatchNorm1d."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx.supernet.bn_pooling import active_pooling
from nasx.supernet.stats_sync import stats_sync_active, sum_across_ranks


@dataclass
class BNView:
    """The tensors of a BatchNorm1d, possibly the first ``C`` channels of a larger one.

    ``running_mean`` / ``running_var`` are views, so updates land in the owning module.
    ``momentum=None`` gives a cumulative average (used for BN recalibration).
    """

    weight: Tensor
    bias: Tensor
    running_mean: Tensor
    running_var: Tensor
    num_batches_tracked: Tensor
    momentum: float | None
    eps: float

    @classmethod
    def of(cls, bn: nn.BatchNorm1d, channels: int | None = None) -> BNView:
        """A view of the first ``channels`` channels of ``bn`` (all when None)."""
        c = bn.num_features if channels is None else channels
        return cls(
            bn.weight[:c],
            bn.bias[:c],
            bn.running_mean[:c],
            bn.running_var[:c],
            bn.num_batches_tracked,
            bn.momentum,
            bn.eps,
        )


def _global_moments(x: Tensor, m: Tensor, shift: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Mean and biased variance ``(C,)`` and count ``()`` of the valid steps of every rank.

    One differentiable all-reduce of the per-channel sum and sum of squares of ``x - shift``
    and the count of valid steps (``x (B, C, L)``, ``m (B, 1, L)``; an empty shard adds zeros).
    Shifting by the running mean (the same on every rank) keeps ``E[d^2] - E[d]^2`` accurate
    when the mean is large against the spread.
    """
    c = x.shape[1]
    d = (x - shift[:, None]) * m  # (B, C, L), zero on padded steps
    local = torch.cat([d.sum(dim=(0, 2)), (d * d).sum(dim=(0, 2)), m.sum().reshape(1)])  # (2C+1,)
    total = sum_across_ranks(local)  # (2C+1,)
    n = total[2 * c]
    mean_d = total[:c] / n  # (C,)
    var = (total[c : 2 * c] / n - mean_d.square()).clamp_min(0)  # biased, (C,)
    return shift + mean_d, var, n


def masked_batch_norm(x: Tensor, mask: Tensor, bn: BNView, training: bool) -> Tensor:
    """Batch norm of ``x (B, C, L)`` whose statistics use only steps where ``mask (B, L)`` is True.

    In training the batch statistics are over valid steps and the running statistics are updated
    (unbiased variance, as torch does); inside :func:`~nasx.supernet.stats_sync.synchronized_stats`
    the statistics are those of the valid steps of every rank's batch (synchronised BatchNorm). In
    eval the running statistics are used, exactly as ``F.batch_norm``. The result is not
    re-masked.
    """
    if not training:
        return F.batch_norm(
            x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps
        )
    m = mask.unsqueeze(1).to(x.dtype)  # (B, 1, L)
    if (pooling := active_pooling()) is not None:  # exact whole-split statistics, in passes
        return pooling.batch_norm(x, m, bn)
    if stats_sync_active():
        mean, var, n = _global_moments(x, m, bn.running_mean.detach())
    else:
        n = m.sum()
        mean = (x * m).sum(dim=(0, 2)) / n  # (C,)
        var = ((x - mean[:, None]).square() * m).sum(dim=(0, 2)) / n  # biased, (C,)
    with torch.no_grad():
        bn.num_batches_tracked.add_(1)
        f = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        unbiased = var.detach() * (n / (n - 1).clamp_min(1))
        bn.running_mean.mul_(1 - f).add_(mean.detach(), alpha=f)
        bn.running_var.mul_(1 - f).add_(unbiased, alpha=f)
    inv = torch.rsqrt(var + bn.eps) * bn.weight
    return (x - mean[:, None]) * inv[:, None] + bn.bias[:, None]
