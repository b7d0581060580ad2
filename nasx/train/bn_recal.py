"""BatchNorm recalibration: running statistics measured for one subnet before it is evaluated.

Training updates the BatchNorm running statistics with every sampled subnet, so they fit none of
them. Before a subnet is evaluated its statistics are re-measured: reset, cumulative average
(``momentum=None``), a few cached training batches through the subnet in training mode under
``no_grad``. Only the BatchNorms see training mode: activation-quantization ranges
(:class:`~nasx.supernet.quant.ActQuant`) and dropout stay in eval mode, so calibration changes
nothing but the BatchNorm buffers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasx.data import Batch, SequenceSet
from nasx.data.batches import take_batch
from nasx.data.lazy_sequences import LazySequenceSet
from nasx.supernet.bn_pooling import PooledStats, StopForwardSignal, pooled_stats
from nasx.supernet.quant import ActQuant

CALIB_CHUNK = 256  # sequences per batch of a whole-split calibration


@dataclass(frozen=True, eq=False)
class WholeSplit(Sequence[Batch]):
    """A whole data split for BatchNorm calibration: chunks of :data:`CALIB_CHUNK` sequences in
    stored order (one chunk when the split has no more), read again on every pass, never held
    together. :func:`recalibrate_bn` measures from it the statistics the split gives as one
    batch (exactly, pooled layer by layer; :mod:`nasx.supernet.bn_pooling`)."""

    data: SequenceSet | LazySequenceSet
    device: torch.device | str = "cpu"

    def __len__(self) -> int:
        return math.ceil(len(self.data) / CALIB_CHUNK)

    def __getitem__(self, i: int) -> Batch:  # type: ignore[override]
        if not 0 <= i < len(self):
            raise IndexError(i)
        index = torch.arange(i * CALIB_CHUNK, min((i + 1) * CALIB_CHUNK, len(self.data)))
        return take_batch(self.data, index).to(self.device)

    def __iter__(self) -> Iterator[Batch]:
        return (self[i] for i in range(len(self)))


def batch_norms(net: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every BatchNorm module of ``net``, in module order."""
    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@contextmanager
def calibration_mode(net: nn.Module) -> Iterator[None]:
    """Training mode for everything but activation quantizers and dropout; restored on exit.

    The blocks of the supernet pass their own ``training`` flag to the masked BatchNorm, so the
    blocks must be in training mode; :class:`ActQuant` (which would update its EMA range) and
    ``nn.Dropout`` are put back into eval mode.
    """
    modes = [(m, m.training) for m in net.modules()]
    net.train()
    for m in net.modules():
        if isinstance(m, ActQuant | nn.modules.dropout._DropoutNd):
            m.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


@contextmanager
def preserved_bn_state(net: nn.Module) -> Iterator[None]:
    """Restore every BatchNorm's running statistics, counter and momentum on exit."""
    saved = [
        (bn, bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone(),
         bn.momentum)
        for bn in batch_norms(net)
    ]
    try:
        yield
    finally:
        with torch.no_grad():
            for bn, mean, var, count, momentum in saved:
                bn.running_mean.copy_(mean)
                bn.running_var.copy_(var)
                bn.num_batches_tracked.copy_(count)
                bn.momentum = momentum


@torch.no_grad()
def recalibrate_bn(net: nn.Module, arch: Any, batches: Sequence[Batch]) -> None:
    """Make ``arch`` the active subnet and re-measure the BatchNorm statistics on ``batches``.

    Every BatchNorm is reset (the active subnet then fills the channels it uses) and averages
    over all ``batches`` with equal weight per batch (``momentum=None``); the momenta are
    restored afterwards. A :class:`WholeSplit` of more than one chunk gets the statistics of
    the whole split as one batch instead, measured exactly in passes over its chunks
    (:mod:`nasx.supernet.bn_pooling`); of one chunk, that one batch. Activation ranges,
    dropout and the training mode are left as they were.
    ``net`` is a :class:`~nasx.supernet.Supernet` (``forward(x, lengths, arch=...)``).
    """
    bns = batch_norms(net)
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    try:
        with calibration_mode(net):
            if isinstance(batches, WholeSplit) and len(batches) > 1:
                _pooled_passes(net, arch, batches)
            else:
                for b in batches:
                    net(b.x, b.lengths, arch=arch)  # (B, classes), only for the statistics
    finally:
        for bn, momentum in zip(bns, momenta, strict=True):
            bn.momentum = momentum


def _pooled_passes(net: nn.Module, arch: Any, batches: WholeSplit) -> None:
    """Measure every BatchNorm call of ``arch`` over all ``batches``, one call per pass."""
    state = PooledStats()
    with pooled_stats(state):
        while True:
            for i, b in enumerate(batches):
                state.start_batch()
                try:
                    net(b.x, b.lengths, arch=arch)
                except StopForwardSignal:
                    pass
                if i == 0 and not state.reached:
                    return  # the forward ran to the end: every call is measured
            state.finish_pass()
