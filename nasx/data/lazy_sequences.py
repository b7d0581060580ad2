"""``LazySequenceSet``: a split whose features stay on disk and are read batch by batch.

It has what the training, calibration and evaluation loops use of a
:class:`~nasx.data.sequences.SequenceSet` (``len``, ``lengths``, ``y``, ``channels``,
``max_length``, ``to``) plus :meth:`LazySequenceSet.batch`, which reads the rows of one batch
(:class:`~nasx.data.npy_rows.NpyRows`), zeroes their padding and normalises them exactly as
:mod:`nasx.data.normalize` does a whole in-memory split: resident memory is one batch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from nasx.data.npy_rows import NpyRows
from nasx.data.sequences import SequenceSet
from nasx.errors import DataError

MIN_STD = 1e-6  # as nasx.data.normalize
MATERIALIZE_MAX_BYTES = 256 << 20  # a split read whole into memory: small ones only


@dataclass(frozen=True, eq=False)
class Normalization:
    """How a batch is normalised: ``mode`` ``channel`` (with ``mean``/``std``, ``(C,)``
    float32), ``series`` or ``none``."""

    mode: str = "none"
    mean: Tensor | None = None
    std: Tensor | None = None

    def apply(self, x: np.ndarray, lengths: np.ndarray) -> Tensor:
        """``x (B, C, L)`` float64, zero past ``lengths (B,)``, normalised as float32."""
        valid = np.arange(x.shape[2])[None, None, :] < lengths[:, None, None]  # (B, 1, L)
        if self.mode == "channel":
            assert self.mean is not None and self.std is not None
            mean = self.mean.double().numpy()[None, :, None]
            x = (x - mean) / self.std.double().numpy()[None, :, None]
        elif self.mode == "series":
            count = np.maximum(lengths, 1).astype(np.float64)[:, None, None]  # (B, 1, 1)
            mean = (x * valid).sum(axis=2, keepdims=True) / count  # (B, C, 1)
            var = (((x - mean) ** 2) * valid).sum(axis=2, keepdims=True) / count
            x = (x - mean) / np.maximum(np.sqrt(var), MIN_STD)
        return torch.from_numpy(np.where(valid, x, 0.0).astype(np.float32))  # (B, C, L)


@dataclass(frozen=True, eq=False)
class LazySequenceSet:
    """Sequences of a ``.npy`` features file: the rows ``rows`` of ``source``.

    Attributes:
        source: the features file, ``(N_file, C, L_file)``.
        rows: ``(N,)`` int64, the file rows of this split, in split order.
        lengths: ``(N,)`` int64 valid steps, each in ``1..L_file``.
        y: ``(N,)`` int64 class indices.
        norm: the normalisation applied to every batch read.
    """

    source: NpyRows
    rows: np.ndarray
    lengths: Tensor
    y: Tensor
    norm: Normalization = Normalization()

    def __len__(self) -> int:
        """Number of sequences ``N``."""
        return int(self.rows.shape[0])

    @property
    def channels(self) -> int:
        """Number of input channels ``C``."""
        return int(self.source.shape[1])

    @property
    def max_length(self) -> int:
        """The longest sequence of the split."""
        return int(self.lengths.max()) if len(self) else 0

    def to(self, device: torch.device | str) -> LazySequenceSet:
        """The set itself: batches are read on the CPU and moved by whoever uses them."""
        return self

    def normalized(self, norm: Normalization) -> LazySequenceSet:
        """The same rows, read with normalisation ``norm``."""
        return replace(self, norm=norm)

    def take(self, index: np.ndarray) -> LazySequenceSet:
        """The sequences at positions ``index`` (``(M,)`` ints) of this split, in that order."""
        t = torch.from_numpy(np.asarray(index, dtype=np.int64))
        return replace(self, rows=self.rows[index], lengths=self.lengths[t], y=self.y[t])

    def batch(self, index: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(x (B, C, Lb), lengths (B,), y (B,))`` of positions ``index (B,)``, ``Lb`` the
        batch's longest sequence, padding exactly 0, normalised."""
        pos = index.cpu().numpy()
        lengths = self.lengths[index.cpu()]  # (B,)
        longest = int(lengths.max()) if pos.size else 0
        raw = self.source.read_rows(self.rows[pos])[:, :, :longest]  # (B, C, Lb)
        x = self.norm.apply(raw.astype(np.float64), lengths.numpy())
        return x, lengths, self.y[index.cpu()]

    @property
    def x(self) -> Tensor:
        """The whole split in memory, ``(N, C, Lmax)`` float32 (small splits only)."""
        return self.materialize().x

    def materialize(self) -> SequenceSet:
        """The split as an in-memory :class:`SequenceSet` (small splits only).

        Raises:
            DataError: the split would take more than :data:`MATERIALIZE_MAX_BYTES`.
        """
        size = len(self) * self.channels * self.max_length * 4
        if size > MATERIALIZE_MAX_BYTES:
            raise DataError(f"this needs all {len(self)} sequences of a split of npy: data in "
                            f"memory ({size / 2**30:.1f} GiB), which npy: data is read lazily "
                            "to avoid; validate on a sample (data.val_sample), or report it as "
                            "a nasx bug")
        x, lengths, y = self.batch(torch.arange(len(self)))
        return SequenceSet(x=x, lengths=lengths, y=y)
