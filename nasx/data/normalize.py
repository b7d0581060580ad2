"""Input normalisation over valid (unpadded) time steps: per channel, per series, or none.

Modes (``DatasetSplits.normalization``):

- ``channel``: ``(x - mean[c]) / std[c]`` with the mean and std of channel ``c`` over the valid
  steps of the training split, the same statistics applied to every split;
- ``series``: each sequence and channel z-normalised over its own valid steps (the UCR
  convention), so a series' amplitude and offset never reach the network;
- ``none``: the data as given.

Every std is the population std (``ddof=0``) floored at :data:`MIN_STD`; sums run in float64;
padded steps stay exactly 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nasx.data.masks import mask_from_lengths
from nasx.data.sequences import SequenceSet

MIN_STD = 1e-6
MODES = ("channel", "series", "none")
SERIES_SPREAD = 100.0  # auto: normalise per series above this amplitude spread


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


def series_standardize(ds: SequenceSet) -> SequenceSet:
    """Return each sequence and channel z-normalised over its own valid steps.

    ``(x - m) / max(s, 1e-6)`` with ``m``, ``s`` the mean and population std of that sequence's
    channel over its valid steps; padded steps stay exactly 0.
    """
    valid, mean, std = _series_moments(ds)
    scaled = (ds.x.double() - mean) / std.clamp_min(MIN_STD)
    out = torch.where(valid, scaled, torch.zeros((), dtype=torch.float64)).float()  # (N, C, L)
    return SequenceSet(x=out, lengths=ds.lengths, y=ds.y)


def _series_moments(ds: SequenceSet) -> tuple[Tensor, Tensor, Tensor]:
    """The valid-step mask ``(N, 1, L)`` and each sequence's per-channel mean and population
    std over its valid steps, ``(N, C, 1)`` float64 each."""
    valid = mask_from_lengths(ds.lengths, ds.max_length)[:, None, :]  # (N, 1, L)
    x = ds.x.double()  # (N, C, L)
    count = ds.lengths.double().clamp_min(1)[:, None, None]  # (N, 1, 1)
    mean = (x * valid).sum(dim=2, keepdim=True) / count  # (N, C, 1)
    var = (((x - mean) ** 2) * valid).sum(dim=2, keepdim=True) / count  # (N, C, 1)
    return valid, mean, var.sqrt()


def series_scale_spread(ds: SequenceSet) -> float:
    """How much the amplitude of the series differs: per channel, the 90th over the 10th
    percentile of the per-series std (valid steps), median over channels (1.0: equal scales).

    ``auto`` normalises per series when this exceeds :data:`SERIES_SPREAD` (two orders of
    magnitude).
    """
    std = _series_moments(ds)[2][:, :, 0]  # (N, C)
    hi = torch.quantile(std, 0.9, dim=0)
    lo = torch.quantile(std, 0.1, dim=0).clamp_min(1e-12)  # (C,)
    return float(torch.median(hi / lo))


def auto_mode(train: SequenceSet) -> str:
    """The mode ``auto`` takes for training split ``train``: ``series`` when the amplitude of its
    series differs by more than :data:`SERIES_SPREAD` (per-channel statistics would leave most
    series near zero), else ``channel`` (amplitude stays information)."""
    return "series" if series_scale_spread(train) > SERIES_SPREAD else "channel"


def mode_of(normalize: str | bool, train: SequenceSet) -> str:
    """The normalisation mode of a config value for training split ``train``: ``True`` is
    ``channel``, ``False`` ``none``, ``auto`` :func:`auto_mode`."""
    if normalize == "auto":
        return auto_mode(train)
    if normalize is True:
        return "channel"
    if normalize is False:
        return "none"
    if normalize not in MODES:
        raise ValueError(f"unknown normalisation {normalize!r}; choose from {', '.join(MODES)}")
    return normalize
