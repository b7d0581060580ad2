"""Masks, ``SequenceSet`` and ``iterate_batches``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasx.data import SequenceSet, iterate_batches, mask_from_lengths


def _toy_set() -> SequenceSet:
    lengths = np.array([2, 5, 1, 3, 4], dtype=np.int64)
    x = np.zeros((5, 2, 6))
    for i, n in enumerate(lengths):
        x[i, :, :n] = i + 1  # row i holds the value i + 1 on its valid steps
    return SequenceSet.from_numpy(x, lengths, np.array([0, 1, 0, 1, 0]))


def test_mask_from_lengths():
    mask = mask_from_lengths(torch.tensor([0, 2, 3]), 3)
    assert mask.dtype == torch.bool
    assert mask.tolist() == [[False, False, False], [True, True, False], [True, True, True]]


def test_from_numpy_trims_to_the_longest_sequence():
    ds = _toy_set()
    assert ds.x.shape == (5, 2, 5)
    assert (len(ds), ds.channels, ds.max_length) == (5, 2, 5)
    assert ds.x.dtype == torch.float32
    assert ds.x[1, 0].tolist() == [2.0] * 5


def test_sequence_set_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"lengths and y must be \(2,\), got \(3,\) and \(2,\)"):
        SequenceSet(
            torch.zeros(2, 1, 4), torch.ones(3, dtype=torch.long), torch.zeros(2, dtype=torch.long)
        )


def test_batches_in_order_are_trimmed_per_batch():
    batches = list(iterate_batches(_toy_set(), 2, shuffle=False))
    assert [b.x.shape for b in batches] == [(2, 2, 5), (2, 2, 3), (1, 2, 4)]
    assert [b.lengths.tolist() for b in batches] == [[2, 5], [1, 3], [4]]
    assert [b.y.tolist() for b in batches] == [[0, 1], [0, 1], [0]]
    assert batches[1].x[:, 0].tolist() == [[3.0, 0.0, 0.0], [4.0, 4.0, 4.0]]


def test_drop_last():
    batches = list(iterate_batches(_toy_set(), 2, shuffle=False, drop_last=True))
    assert [b.lengths.tolist() for b in batches] == [[2, 5], [1, 3]]


def test_shuffle_follows_the_generator():
    ds = _toy_set()
    order = torch.randperm(5, generator=torch.Generator().manual_seed(3)).tolist()
    batches = list(iterate_batches(ds, 5, shuffle=True, generator=torch.Generator().manual_seed(3)))
    assert len(batches) == 1
    assert batches[0].x[:, 0, 0].tolist() == [float(i + 1) for i in order]
    assert batches[0].lengths.tolist() == [[2, 5, 1, 3, 4][i] for i in order]


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        next(iterate_batches(_toy_set(), 0, shuffle=False))


def test_to_returns_a_copy_on_the_device():
    ds = _toy_set().to("cpu")
    batch = next(iterate_batches(ds, 2, shuffle=False)).to(torch.device("cpu"))
    assert batch.x.device.type == "cpu"
    assert torch.equal(ds.lengths, torch.tensor([2, 5, 1, 3, 4]))
