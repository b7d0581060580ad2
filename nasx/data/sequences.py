"""``SequenceSet``: a labelled set of zero-padded, variable-length sequences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True, eq=False)
class SequenceSet:
    """Sequences padded with zeros to the longest one in the set, with lengths and labels.

    Attributes:
        x: ``(N, C, Lmax)`` float32; every step at or past ``lengths[n]`` is exactly 0.
        lengths: ``(N,)`` int64, each in ``1..Lmax``.
        y: ``(N,)`` int64 class indices in ``0..K-1``.
    """

    x: Tensor
    lengths: Tensor
    y: Tensor

    def __post_init__(self) -> None:
        """Check that the three tensors describe the same ``N`` sequences."""
        if self.x.dim() != 3:
            raise ValueError(f"x must be (N, C, L), got shape {tuple(self.x.shape)}")
        n = self.x.shape[0]
        if self.lengths.shape != (n,) or self.y.shape != (n,):
            raise ValueError(
                f"lengths and y must be ({n},), got {tuple(self.lengths.shape)} "
                f"and {tuple(self.y.shape)}"
            )

    def __len__(self) -> int:
        """Number of sequences ``N``."""
        return int(self.x.shape[0])

    @property
    def channels(self) -> int:
        """Number of input channels ``C``."""
        return int(self.x.shape[1])

    @property
    def max_length(self) -> int:
        """Padded length ``Lmax`` (the longest sequence in the set)."""
        return int(self.x.shape[2])

    def to(self, device: torch.device | str) -> SequenceSet:
        """Return a copy of the set on ``device``."""
        return SequenceSet(
            x=self.x.to(device), lengths=self.lengths.to(device), y=self.y.to(device)
        )

    @classmethod
    def from_numpy(cls, x: np.ndarray, lengths: np.ndarray, y: np.ndarray) -> SequenceSet:
        """Build a set from numpy arrays, trimming ``x`` to its longest sequence.

        Args:
            x: ``(N, C, L)`` numbers, zero past each length.
            lengths: ``(N,)`` integers in ``1..L``.
            y: ``(N,)`` class indices.
        """
        lmax = int(lengths.max()) if lengths.size else 0
        x32 = np.ascontiguousarray(x[:, :, :lmax], dtype=np.float32)  # (N, C, Lmax)
        return cls(
            x=torch.from_numpy(x32),
            lengths=torch.from_numpy(np.asarray(lengths, dtype=np.int64).copy()),
            y=torch.from_numpy(np.asarray(y, dtype=np.int64).copy()),
        )
