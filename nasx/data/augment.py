"""Random data augmentation of training batches: window crop, amplitude scale, jitter.

Applied to training batches only (never to validation, calibration or test data), drawn from a
caller's seeded ``torch.Generator`` so that a run's augmentations depend on its seed and step
alone (exact resume; every rank of a data-parallel run augments the same global batch).

- **crop** (window slicing, Le Guennec et al. 2016): each sequence is replaced by a random window
  of at least ``crop`` of its valid length, resampled (linear interpolation) back to that length.
  It shifts and stretches the sequence in time by up to ``1 - crop``.
- **scale**: each sequence and channel is multiplied by ``exp(scale * z)``, ``z ~ N(0, 1)``.
- **noise**: Gaussian jitter of standard deviation ``noise`` on every valid step.

Padded steps stay exactly zero and lengths are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from nasx.data.batches import Batch


@dataclass(frozen=True)
class Augmentation:
    """What to apply; the neutral values (``crop=1``, ``scale=0``, ``noise=0``) turn a part off.

    Attributes:
        crop: smallest window, as a fraction of each sequence's length, in (0, 1].
        scale: standard deviation of the log amplitude factor, >= 0.
        noise: standard deviation of the additive jitter, >= 0 (in normalised units).
    """

    crop: float = 1.0
    scale: float = 0.0
    noise: float = 0.0

    @property
    def active(self) -> bool:
        """True when some part changes the data."""
        return self.crop < 1.0 or self.scale > 0.0 or self.noise > 0.0


def crop_resample(x: Tensor, lengths: Tensor, start: Tensor, width: Tensor) -> Tensor:
    """Window ``[start, start + width - 1]`` of each sequence, resampled to its own length.

    Args:
        x: ``(B, C, L)`` zero-padded sequences.
        lengths: ``(B,)`` valid lengths ``n_b``.
        start: ``(B,)`` float window starts, ``0 <= start <= n_b - width``.
        width: ``(B,)`` float window lengths in steps, ``1 <= width <= n_b``.

    Returns:
        ``(B, C, L)``: output step ``t < n_b`` is ``x`` linearly interpolated at
        ``start + t * (width - 1) / (n_b - 1)``; steps ``>= n_b`` are 0.
    """
    b, c, L = x.shape
    t = torch.arange(L, device=x.device, dtype=x.dtype)  # (L,)
    n = lengths.to(x.dtype)
    step = (width - 1) / (n - 1).clamp_min(1)  # (B,)
    pos = start[:, None] + t[None, :] * step[:, None]  # (B, L)
    last = (n - 1)[:, None]
    pos = torch.minimum(pos, last)  # padded steps read inside the sequence; masked below
    lo = pos.floor()
    frac = (pos - lo).unsqueeze(1)  # (B, 1, L)
    lo_i = lo.long()
    hi_i = torch.minimum(lo + 1, last).long()
    x_lo = x.gather(2, lo_i.unsqueeze(1).expand(b, c, L))  # (B, C, L)
    x_hi = x.gather(2, hi_i.unsqueeze(1).expand(b, c, L))  # (B, C, L)
    valid = (t[None, :] < n[:, None]).unsqueeze(1)  # (B, 1, L)
    return torch.where(valid, x_lo + frac * (x_hi - x_lo), torch.zeros((), dtype=x.dtype))


def augment_batch(batch: Batch, aug: Augmentation, generator: torch.Generator) -> Batch:
    """``batch`` with ``aug`` applied, drawn from the CPU ``generator``; labels and lengths kept.

    The draws happen in a fixed order (crop, scale, noise) and only for active parts, so a
    config with a part turned off draws nothing for it.
    """
    if not aug.active or len(batch.y) == 0:
        return batch
    x, lengths = batch.x, batch.lengths  # (B, C, L), (B,)
    b, c, L = x.shape
    device = x.device
    valid = (torch.arange(L, device=device)[None, :] < lengths[:, None]).unsqueeze(1)  # (B,1,L)
    if aug.crop < 1.0:
        n = lengths.cpu().to(torch.float32)
        frac = aug.crop + (1.0 - aug.crop) * torch.rand(b, generator=generator)  # (B,)
        width = torch.clamp(torch.round(frac * n), min=1.0)
        width = torch.minimum(width, n)
        start = torch.rand(b, generator=generator) * (n - width)  # (B,)
        x = crop_resample(x, lengths, start.to(device, x.dtype), width.to(device, x.dtype))
    if aug.scale > 0.0:
        factor = torch.exp(aug.scale * torch.randn(b, c, 1, generator=generator))  # (B, C, 1)
        x = x * factor.to(device, x.dtype)
    if aug.noise > 0.0:
        jitter = aug.noise * torch.randn(b, c, L, generator=generator)  # (B, C, L)
        x = torch.where(valid, x + jitter.to(device, x.dtype), torch.zeros((), dtype=x.dtype))
    return Batch(x=x, lengths=lengths, y=batch.y)
