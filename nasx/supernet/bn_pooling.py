"""Exact BatchNorm statistics of a whole data split measured over batches, never as one batch.

Passing a whole split through a subnet as one batch in training mode gives every BatchNorm the
mean and variance of all its valid steps, each layer seeing inputs normalised with the layers
before it at *their* whole-split statistics. Averaging per-batch statistics does not give that:
the variance misses the spread of the batch means, and every later layer sees inputs normalised
with batch statistics. :class:`PooledStats` gets the one-batch figures exactly, layer by layer,
in passes over the batches:

- pass ``k`` normalises the BatchNorm calls ``0..k-1`` (in forward order) with the pooled
  statistics already measured, accumulates call ``k``'s per-channel count, sum and sum of
  squares (float64, shifted by its first batch's mean) and stops the forward there
  (:class:`StopForwardSignal`);
- after the pass, call ``k``'s running mean and unbiased variance are written (what a one-batch
  cumulative-average update writes) and its biased variance kept for normalising in later
  passes;
- a pass in which the forward runs to the end has measured every call.

Cost: about half a forward per BatchNorm call of the subnet per batch, memory one batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

_ACTIVE: ContextVar[PooledStats | None] = ContextVar("nasx_bn_pooling", default=None)


class StopForwardSignal(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by the BatchNorm call being measured: the rest of the forward is not needed."""


@dataclass
class _Sums:
    view: Any  # the BNView of the call (its running buffers are views of the module's)
    shift: Tensor  # (C,) float64
    s1: Tensor  # (C,) float64
    s2: Tensor  # (C,) float64
    n: float = 0.0


@dataclass
class PooledStats:
    """The state of one layer-by-layer calibration (see the module docstring)."""

    target: int = 0
    calls: int = 0
    reached: bool = False
    frozen: list[tuple[Tensor, Tensor]] = field(default_factory=list)  # (mean, biased var)
    sums: _Sums | None = None

    def start_batch(self) -> None:
        """Count BatchNorm calls from 0 again (one forward)."""
        self.calls = 0

    def finish_pass(self) -> bool:
        """Write the target call's statistics; False when the pass measured nothing new
        (every call is done)."""
        if not self.reached or self.sums is None:
            return False
        s = self.sums
        mean_d = s.s1 / s.n
        var = (s.s2 / s.n - mean_d.square()).clamp_min(0)  # biased, (C,)
        mean = s.shift + mean_d
        with torch.no_grad():
            s.view.running_mean.copy_(mean)
            s.view.running_var.copy_(var * (s.n / max(s.n - 1, 1.0)))
            s.view.num_batches_tracked.add_(1)
        self.frozen.append((mean.float(), var.float()))
        self.target, self.reached, self.sums = self.target + 1, False, None
        return True

    def batch_norm(self, x: Tensor, m: Tensor, bn: Any) -> Tensor:
        """The masked BatchNorm of ``x (B, C, L)`` with mask ``m (B, 1, L)`` in this pass."""
        index = self.calls
        self.calls += 1
        if index < self.target:
            mean, var = self.frozen[index]
            inv = torch.rsqrt(var + bn.eps) * bn.weight
            return (x - mean[:, None]) * inv[:, None] + bn.bias[:, None]
        d64 = x.double()
        if self.sums is None:
            n0 = m.sum().double().clamp_min(1)
            shift = (d64 * m).sum(dim=(0, 2)) / n0  # (C,)
            self.sums = _Sums(bn, shift, torch.zeros_like(shift), torch.zeros_like(shift))
        d = (d64 - self.sums.shift[:, None]) * m  # (B, C, L), zero on padded steps
        self.sums.s1 += d.sum(dim=(0, 2))
        self.sums.s2 += (d * d).sum(dim=(0, 2))
        self.sums.n += float(m.sum())
        self.reached = True
        raise StopForwardSignal


@contextmanager
def pooled_stats(state: PooledStats) -> Iterator[PooledStats]:
    """Make the masked BatchNorm follow ``state`` until exit."""
    token = _ACTIVE.set(state)
    try:
        yield state
    finally:
        _ACTIVE.reset(token)


def active_pooling() -> PooledStats | None:
    """The calibration in progress, or None."""
    return _ACTIVE.get()
