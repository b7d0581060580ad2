"""``DatasetSplits``: the train/val/test sets of one dataset, and their summary."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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
        val_pool: the size of the carved validation split ``val`` was sampled from
            (``data.val_sample``); equal to ``len(val)`` without a sample.
        auto_normalization: what ``normalize: auto`` takes for this data, when the loader
            measured it on the way (``npy:`` folders; None: ask
            :func:`nasx.data.normalize.auto_mode`).
        fingerprint: SHA-256 digests of the arrays as loaded, before normalisation (see
            :func:`nasx.data.fingerprint.data_fingerprint`).
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
    fingerprint: dict[str, str] = field(default_factory=dict)
    val_pool: int | None = None
    auto_normalization: str | None = None

    @property
    def val_noise_floor(self) -> float:
        """The standard error of an accuracy measured on the validation split, in points, at
        50% (its largest): ``50 / sqrt(n_val)``. Subnets closer than about twice this cannot
        be told apart on it."""
        return 50.0 / math.sqrt(max(len(self.val), 1))

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
            "val_sample": {"n": len(self.val), "of": self.val_pool or len(self.val),
                           "noise_floor_points": round(self.val_noise_floor, 3)},
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
