"""Datasets as numpy arrays straight from a source, before labels are encoded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class RawSplit:
    """One split of a dataset as a source delivers it.

    Attributes:
        x: ``(N, C, L)`` float64, zero past each length.
        lengths: ``(N,)`` int64, each in ``1..L``.
        labels: ``(N,)`` class names as ``str``.
        groups: ``(N,)`` group names as ``str`` (subjects: speakers, patients, sessions),
            or ``None`` when the source gives none.
    """

    x: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        """Number of sequences ``N``."""
        return int(self.x.shape[0])

    def take(self, index: np.ndarray) -> RawSplit:
        """Return the sequences at ``index`` (``(M,)`` ints), in that order."""
        groups = None if self.groups is None else self.groups[index]
        return RawSplit(x=self.x[index], lengths=self.lengths[index], labels=self.labels[index],
                        groups=groups)


@dataclass(frozen=True, eq=False)
class RawDataset:
    """A named dataset with its training data and its test data."""

    name: str
    train: RawSplit
    test: RawSplit


def label_names(values: np.ndarray) -> np.ndarray:
    """Turn labels of any int, float, bool or str dtype into a ``(N,)`` array of ``str``."""
    if values.dtype.kind == "S":
        return np.array([v.decode("utf-8", "replace") for v in values.tolist()], dtype=str)
    return np.array([str(v) for v in values.tolist()], dtype=str)


def split_from_ragged(arrays: Sequence[np.ndarray], labels: np.ndarray) -> RawSplit:
    """Pad a list of ``(C, L_i)`` arrays with zeros into a ``RawSplit``."""
    lengths = np.array([a.shape[-1] for a in arrays], dtype=np.int64)  # (N,)
    channels = arrays[0].shape[0]
    x = np.zeros((len(arrays), channels, int(lengths.max())), dtype=np.float64)  # (N, C, L)
    for i, a in enumerate(arrays):
        x[i, :, : a.shape[-1]] = a
    return RawSplit(x=x, lengths=lengths, labels=label_names(np.asarray(labels)))


def split_from_padded(x: np.ndarray, labels: np.ndarray) -> RawSplit:
    """Wrap an equal-length ``(N, C, L)`` array as a ``RawSplit`` (every length is ``L``)."""
    lengths = np.full(x.shape[0], x.shape[-1], dtype=np.int64)  # (N,)
    return RawSplit(
        x=np.asarray(x, dtype=np.float64), lengths=lengths, labels=label_names(np.asarray(labels))
    )
