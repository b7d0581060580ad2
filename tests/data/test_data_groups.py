"""Group-aware splits: an npz ``groups`` array makes validation hold out whole subjects."""

from __future__ import annotations

import numpy as np
import pytest

from nasx.data import load_dataset
from nasx.data.stratify import group_split
from nasx.errors import DataError


def _subjects_npz(path, n_subjects: int = 8, per: int = 12, test: bool = True) -> None:
    rng = np.random.default_rng(0)
    n = n_subjects * per
    x = rng.normal(size=(n, 2, 16)).astype(np.float32)
    y = np.arange(n) % 3
    groups = np.repeat([f"s{k}" for k in range(n_subjects)], per)
    arrays = {"X": x, "y": y, "groups": groups}
    if test:
        arrays |= {"X_test": x[:9], "y_test": y[:9]}
    np.savez(path, **arrays)


def test_group_split_holds_out_whole_groups_deterministically():
    labels = np.arange(60) % 3
    groups = np.repeat(np.arange(10), 6)
    kept, held = group_split(labels, groups, 0.2, seed=4)
    assert set(groups[kept]).isdisjoint(groups[held])
    assert held.size == 12 and kept.size == 48  # two groups of 6 reach 20% of 60
    assert set(labels[kept]) == {0, 1, 2}
    again = group_split(labels, groups, 0.2, seed=4)
    assert np.array_equal(again[0], kept) and np.array_equal(again[1], held)
    other = group_split(labels, groups, 0.2, seed=5)
    assert not np.array_equal(other[1], held)


def test_a_group_that_holds_a_whole_class_stays_in_training():
    labels = np.array([0, 0, 1, 1, 2, 2])
    groups = np.array(["a", "a", "b", "b", "c", "c"])  # each group is the only one of its class
    with pytest.raises(ValueError, match=r"^groups: every group holds the last samples"):
        group_split(labels, groups, 0.3, seed=0)
    with pytest.raises(ValueError, match=r"^groups: 1 group; holding out whole groups needs"):
        group_split(labels, np.zeros(6), 0.3, seed=0)


def test_npz_groups_give_a_group_validation_split(tmp_path):
    path = tmp_path / "subj.npz"
    _subjects_npz(path)
    splits = load_dataset(f"npz:{path}", val_fraction=0.25, seed=1)
    assert splits.val_split == "group" and splits.summary()["val_split"] == "group"
    assert len(splits.val) == 24 and len(splits.train) == 72  # 2 of 8 subjects of 12
    plain = tmp_path / "plain.npz"
    with np.load(path) as f:
        np.savez(plain, **{k: f[k] for k in f.files if k != "groups"})
    assert load_dataset(f"npz:{plain}", val_fraction=0.25, seed=1).val_split == "stratified"


def test_npz_groups_carve_the_test_split_by_group_too(tmp_path):
    path = tmp_path / "subj.npz"
    _subjects_npz(path, n_subjects=10, per=6, test=False)
    from nasx.data.registry import read_dataset

    raw = read_dataset(f"npz:{path}", 0)
    assert set(raw.train.groups).isdisjoint(raw.test.groups)
    assert len(raw.test) == 12


def test_bad_groups_are_one_line_errors(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X=np.zeros((6, 1, 4)), y=np.arange(6) % 2, groups=np.zeros((6, 2)))
    with pytest.raises(DataError, match=r"groups must be a 1-D array of ints or strings, one "
                                        r"per sample of X \(6\), got shape \(6, 2\)"):
        load_dataset(f"npz:{path}")
