"""Activation range tracking for fake quantization (weights are quantized on the fly).

:class:`ActQuant` keeps an exponential moving average of ``max|x|`` (updated in training) and
fake-quantizes ``x`` per tensor with it. Until a range has been seen it uses the tensor's own
``max|x|``, so an untrained module still computes something sensible. Inside
:func:`~nasx.supernet.stats_sync.synchronized_stats` the range measured in training is the max
over the ranks of a data-parallel job.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from nasx.kernels.fake_quant import FLOAT_BITS, fake_quant_act, fake_quant_weight
from nasx.supernet.stats_sync import max_across_ranks, stats_sync_active


class ActQuant(nn.Module):
    """Per-tensor symmetric activation fake quantization with an EMA range."""

    def __init__(self, momentum: float = 0.1) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer("amax", torch.zeros(()))
        self.register_buffer("seen", torch.zeros((), dtype=torch.bool))

    def forward(self, x: Tensor, bits: int, valid: Tensor | None = None) -> Tensor:
        """Track the range (in training); return ``x`` fake-quantized to ``bits`` (32: as is).

        ``valid`` (broadcastable to ``x``, bool) marks the entries that count for the range;
        padded steps must not, or padding would change the result.
        """
        if not self.training and bits >= FLOAT_BITS:
            return x
        absx = x.detach().abs()
        if absx.numel() == 0:  # an empty shard of a data-parallel batch: no range of its own
            cur = torch.zeros((), dtype=self.amax.dtype, device=x.device)
        else:
            cur = (absx if valid is None else absx * valid).amax().to(self.amax.dtype)
        if self.training:
            if stats_sync_active():
                cur = max_across_ranks(cur)  # the global batch's range on every rank
            with torch.no_grad():
                ema = self.amax * (1 - self.momentum) + cur * self.momentum
                self.amax.copy_(torch.where(self.seen, ema, cur))
                self.seen.fill_(True)
        if bits >= FLOAT_BITS:
            return x
        return fake_quant_act(x, bits, torch.where(self.seen, self.amax, cur))


def qw(w: Tensor, bits: int) -> Tensor:
    """Weight ``w`` fake-quantized per output channel to ``bits`` (32: unchanged)."""
    return w if bits >= FLOAT_BITS else fake_quant_weight(w, bits)
