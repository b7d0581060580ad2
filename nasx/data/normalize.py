"""Per-channel standardisation over valid (unpadded) time steps."""

from __future__ import annotations

import torch
from torch import Tensor

from nasx.data.masks import mask_from_lengths
from nasx.data.sequences import SequenceSet

MIN_STD = 1e-6


def channel_stats(ds: SequenceSet) -> tuple[Tensor, Tensor]:
    """Return ``(mean, std)``, each ``(C,)`` float32, over the valid steps of ``ds``.

    The std is the population std (``ddof=0``), floored at ``1e-6``; sums run in float64.
    """
    valid = mask_from_lengths(ds.lengths, ds.max_length)[:, None, :].double()  # (N, 1, L)
    x = ds.x.double()  # (N, C, L)
    count = valid.sum()
    mean = (x * valid).sum(dim=(0, 2)) / count  # (C,)
    var = (((x - mean[None, :, None]) ** 2) * valid).sum(dim=(0, 2)) / count  # (C,)
    return mean.float(), var.sqrt().clamp_min(MIN_STD).float()


def standardize(ds: SequenceSet, mean: Tensor, std: Tensor) -> SequenceSet:
    """Return ``(x - mean) / std`` per channel; padded steps stay exactly 0."""
    valid = mask_from_lengths(ds.lengths, ds.max_length)[:, None, :]  # (N, 1, L)
    scaled = (ds.x.double() - mean.double()[None, :, None]) / std.double()[None, :, None]
    x = torch.where(valid, scaled, torch.zeros((), dtype=torch.float64)).float()  # (N, C, L)
    return SequenceSet(x=x, lengths=ds.lengths, y=ds.y)
