"""Datasets for nasx: loading, splits, normalisation and batching.

Example:
    >>> from nasx.data import load_dataset, iterate_batches
    >>> ds = load_dataset("japanese-vowels", val_fraction=0.2, seed=0)
    >>> batch = next(iterate_batches(ds.train, 32, shuffle=False))
    >>> batch.x.shape[:2]
    torch.Size([32, 12])
"""

from __future__ import annotations

from nasx.data.aeon_source import bundled_classification_names
from nasx.data.batches import Batch, iterate_batches
from nasx.data.loading import load_dataset
from nasx.data.masks import mask_from_lengths
from nasx.data.registry import DEFAULT_DATASET, REGISTRY, DatasetEntry, dataset_names
from nasx.data.sequences import SequenceSet
from nasx.data.splits import DatasetSplits

__all__ = [
    "DEFAULT_DATASET",
    "REGISTRY",
    "Batch",
    "DatasetEntry",
    "DatasetSplits",
    "SequenceSet",
    "bundled_classification_names",
    "dataset_names",
    "iterate_batches",
    "load_dataset",
    "mask_from_lengths",
]
