"""Mini-batches of a ``SequenceSet``, each trimmed to its own longest sequence."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from nasx.data.lazy_sequences import LazySequenceSet
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


class _LazyBatches(Dataset[Batch]):
    """Item ``i`` is the ``i``-th batch of index lists, read from a :class:`LazySequenceSet`
    (what a ``DataLoader`` worker calls)."""

    def __init__(self, ds: LazySequenceSet, indices: list[Tensor]) -> None:
        self.ds, self.indices = ds, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Batch:
        return Batch(*self.ds.batch(self.indices[i]))


def iterate_batches(
    ds: SequenceSet | LazySequenceSet,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
    workers: int = 0,
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
        workers: for a :class:`LazySequenceSet`, read the batches in that many ``DataLoader``
            worker processes (same batches, same order); 0 reads them in this process.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(ds)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)  # (N,)
    if isinstance(ds, LazySequenceSet):
        yield from _lazy_batches(ds, order, batch_size, drop_last, workers)
        return
    order = order.to(ds.x.device)
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]  # (B,)
        if drop_last and index.numel() < batch_size:
            return
        yield take_batch(ds, index)


def take_batch(ds: SequenceSet | LazySequenceSet, index: Tensor) -> Batch:
    """The sequences at positions ``index (B,)`` of ``ds`` as a batch cut to its longest."""
    if isinstance(ds, LazySequenceSet):
        return Batch(*ds.batch(index))
    lengths = ds.lengths[index]  # (B,)
    longest = int(lengths.max())
    return Batch(x=ds.x[index, :, :longest], lengths=lengths, y=ds.y[index])


def _lazy_batches(ds: LazySequenceSet, order: Tensor, batch_size: int, drop_last: bool,
                  workers: int) -> Iterator[Batch]:
    """The batches of :func:`iterate_batches` read from disk, in this process or in
    ``workers`` ``DataLoader`` processes (two batches ahead per worker)."""
    indices = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    if drop_last and indices and indices[-1].numel() < batch_size:
        indices.pop()
    batches = _LazyBatches(ds, indices)
    if workers <= 0:
        yield from (batches[i] for i in range(len(batches)))
        return
    loader = DataLoader(batches, batch_size=None, shuffle=False, num_workers=workers,
                        prefetch_factor=2, persistent_workers=False)
    yield from loader
