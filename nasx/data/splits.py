"""``DatasetSplits``: the train/val/test sets of one dataset, and their summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from nasx.data.sequences import SequenceSet

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class DatasetSplits:
    """A dataset ready for training: three splits and what is needed to use them.

    Attributes:
        name: the dataset name it was loaded by.
        train, val, test: the splits; ``val`` is carved from the training data.
        classes: class names in index order (``y == i`` is ``classes[i]``).
        channels: input channels ``C``.
        max_length: the longest sequence over all three splits.
        mean, std: ``(C,)`` float32 statistics of the ``channel`` normalisation (0 and 1 in
            the other modes).
        normalization: ``channel``, ``series`` or ``none`` (see :mod:`nasx.data.normalize`).
        val_split: how ``val`` was carved: ``stratified`` (by class) or ``group`` (whole groups).
    """

    name: str
    train: SequenceSet
    val: SequenceSet
    test: SequenceSet
    classes: list[str]
    channels: int
    max_length: int
    mean: Tensor
    std: Tensor
    normalization: str = "channel"
    val_split: str = "stratified"

    @property
    def normalized(self) -> bool:
        """Whether the splits were normalised (any mode but ``none``)."""
        return self.normalization != "none"

    @property
    def num_classes(self) -> int:
        """Number of classes ``K``."""
        return len(self.classes)

    def split(self, name: str) -> SequenceSet:
        """The split called ``name`` (``'train'``, ``'val'`` or ``'test'``)."""
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; choose from {', '.join(SPLIT_NAMES)}")
        return getattr(self, name)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description: sizes, lengths and class counts per split.

        Example of the shape::

            {"name": "japanese-vowels", "channels": 12, "num_classes": 9,
             "classes": ["1", ...], "max_length": 29, "normalization": "channel",
             "splits": {"train": {"n": 216, "length": {"min": 7, "median": 15.0,
                                  "max": 26}, "class_counts": {"1": 24, ...}}, ...}}
        """
        return {
            "name": self.name,
            "channels": self.channels,
            "num_classes": self.num_classes,
            "classes": list(self.classes),
            "max_length": self.max_length,
            "normalization": self.normalization,
            "val_split": self.val_split,
            "splits": {s: _split_summary(self.split(s), self.classes) for s in SPLIT_NAMES},
        }


def _split_summary(ds: SequenceSet, classes: list[str]) -> dict[str, Any]:
    lengths = ds.lengths.cpu().double()  # (N,)
    counts = torch.bincount(ds.y.cpu(), minlength=len(classes)).tolist()  # (K,)
    return {
        "n": len(ds),
        "length": {
            "min": int(lengths.min()),
            "median": float(lengths.quantile(0.5)),
            "max": int(lengths.max()),
        },
        "class_counts": dict(zip(classes, counts, strict=True)),
    }
