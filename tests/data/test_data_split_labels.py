"""Stratified splits and class-name ordering."""

from __future__ import annotations

import numpy as np
import pytest

from nasx.data.labels import class_order, encode_labels
from nasx.data.stratify import holdout_count, stratified_split


@pytest.mark.parametrize(
    ("n", "fraction", "expected"),
    [
        (1, 0.2, 0),
        (2, 0.2, 1),
        (2, 0.9, 1),
        (5, 0.2, 1),
        (7, 0.5, 4),
        (7, 0.4, 3),
        (30, 0.2, 6),
        (34, 0.2, 7),
    ],
)
def test_holdout_count(n, fraction, expected):
    assert holdout_count(n, fraction) == expected


def test_split_is_stratified_disjoint_and_covers_everything():
    labels = np.array([0] * 10 + [1] * 5 + [2] * 1 + [3] * 2)
    kept, held = stratified_split(labels, 0.2, seed=0)
    assert sorted([*kept, *held]) == list(range(18))
    assert np.bincount(labels[held], minlength=4).tolist() == [2, 1, 0, 1]
    assert np.bincount(labels[kept], minlength=4).tolist() == [8, 4, 1, 1]
    assert kept.dtype == np.int64 and held.dtype == np.int64
    assert np.all(np.diff(kept) > 0) and np.all(np.diff(held) > 0)


def test_split_depends_only_on_the_seed():
    labels = np.repeat(np.arange(3), 20)
    first = stratified_split(labels, 0.25, seed=7)
    again = stratified_split(labels, 0.25, seed=7)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    other = stratified_split(labels, 0.25, seed=8)
    assert not np.array_equal(first[1], other[1])
    # A numpy Generator seeded with the seed permutes each class in sorted label order.
    rng = np.random.default_rng(7)
    expected = np.sort(
        np.concatenate([rng.permutation(np.arange(c * 20, c * 20 + 20))[:5] for c in range(3)])
    )
    assert np.array_equal(first[1], expected)


def test_string_labels_split_like_ints():
    names = np.array(["b", "a", "b", "a", "b", "a"])
    kept, held = stratified_split(names, 0.3, seed=0)
    assert sorted(names[held].tolist()) == ["a", "b"]
    assert len(kept) == 4


def test_class_order_is_numeric_when_every_name_is_a_number():
    assert class_order(["10", "2", "1", "2"]) == ["1", "2", "10"]
    assert class_order(["1.5", "-3", "0.0"]) == ["-3", "0.0", "1.5"]
    assert class_order(["dog", "cat", "10", "2"]) == ["10", "2", "cat", "dog"]


def test_encode_labels_maps_to_class_indices():
    codes = encode_labels(np.array(["10", "2", "1", "2"]), ["1", "2", "10"])
    assert codes.tolist() == [2, 1, 0, 1]
    assert codes.dtype == np.int64
