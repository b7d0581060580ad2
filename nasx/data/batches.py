"""Mini-batches of a ``SequenceSet``, each trimmed to its own longest sequence."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from nasx.data.sequences import SequenceSet


@dataclass(frozen=True, eq=False)
class Batch:
    """One mini-batch.

    Attributes:
        x: ``(B, C, Lb)`` float32, where ``Lb = lengths.max()``; zero past each length.
        lengths: ``(B,)`` int64.
        y: ``(B,)`` int64 class indices.
    """

    x: Tensor
    lengths: Tensor
    y: Tensor

    def to(self, device: torch.device | str) -> Batch:
        """Return a copy of the batch on ``device``."""
        return Batch(x=self.x.to(device), lengths=self.lengths.to(device), y=self.y.to(device))


def iterate_batches(
    ds: SequenceSet,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[Batch]:
    """Yield batches of ``batch_size`` sequences (the last one may be smaller).

    Each batch is cut to the longest sequence it holds, so short batches cost less.

    Args:
        ds: the sequences to batch.
        batch_size: sequences per batch, at least 1.
        shuffle: visit the sequences in a random order drawn from ``generator``
            (torch's global generator when ``None``); otherwise in stored order.
        generator: a CPU ``torch.Generator``; pass a seeded one for reproducible epochs.
        drop_last: skip the final batch when it has fewer than ``batch_size`` sequences.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(ds)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)  # (N,)
    order = order.to(ds.x.device)
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]  # (B,)
        if drop_last and index.numel() < batch_size:
            return
        lengths = ds.lengths[index]  # (B,)
        longest = int(lengths.max())
        yield Batch(x=ds.x[index, :, :longest], lengths=lengths, y=ds.y[index])
