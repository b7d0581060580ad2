"""Shared pieces of the training tests: a tiny supernet and a batch of JapaneseVowels."""

from __future__ import annotations

import pytest
import torch

from nasx.data import Batch, DatasetSplits, iterate_batches, load_dataset
from nasx.search_spaces import load_space
from nasx.supernet import Supernet


@pytest.fixture(scope="session")
def jv() -> DatasetSplits:
    """JapaneseVowels, seed 0, default split."""
    return load_dataset("japanese-vowels", val_fraction=0.2, seed=0)


@pytest.fixture
def tiny_net(jv: DatasetSplits) -> Supernet:
    """A freshly initialised (seed 0) supernet of the ``tiny`` preset, in training mode."""
    torch.manual_seed(0)
    return Supernet(load_space("tiny"), jv.channels, jv.num_classes).train()


@pytest.fixture
def batch(jv: DatasetSplits) -> Batch:
    """The first 16 training sequences (variable lengths)."""
    return next(iterate_batches(jv.train, 16, shuffle=False))
