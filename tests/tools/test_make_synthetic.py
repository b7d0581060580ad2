"""``tools/make_synthetic.py``: seeded, chunk-independent, a valid ``npy:`` folder."""

from __future__ import annotations

import numpy as np
import pytest
from tool_loader import load_tool

from nasx.data import lazy_sequences, load_dataset
from nasx.errors import DataError

syn = load_tool("make_synthetic")


def test_rows_depend_only_on_the_seed_and_their_chunk(tmp_path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    syn.write_synthetic(small, 300, channels=6, length=20, classes=4, groups=5)
    syn.write_synthetic(large, syn.CHUNK + 10, channels=6, length=20, classes=4, groups=5)
    a, b = np.load(small / "X.npy"), np.load(large / "X.npy", mmap_mode="r")
    assert a.shape == (300, 6, 20) and a.dtype == np.float32
    assert np.array_equal(a, b[:300])  # the first rows of a larger set are the smaller set
    lengths, y = np.load(small / "lengths.npy"), np.load(small / "y.npy")
    assert np.array_equal(lengths, np.load(large / "lengths.npy")[:300])
    assert lengths.min() >= 10 and lengths.max() <= 20 and set(y) == {0, 1, 2, 3}
    padded = np.arange(20)[None, None, :] >= lengths[:, None, None]
    assert (a[np.broadcast_to(padded, a.shape)] == 0).all()
    assert np.load(small / "groups.npy").max() < 5
    other = tmp_path / "other"
    syn.write_synthetic(other, 300, channels=6, length=20, classes=4, seed=1)
    assert not np.array_equal(np.load(other / "X.npy"), a)
    assert not (tmp_path / "small.tmp").exists()


def test_classes_differ_in_their_signal(tmp_path) -> None:
    """The class mean sequences differ far beyond the noise of a mean of ~100 rows."""
    syn.write_synthetic(tmp_path / "d", 1200, channels=8, length=40, classes=4)
    x, y = np.load(tmp_path / "d" / "X.npy"), np.load(tmp_path / "d" / "y.npy")
    means = np.stack([x[y == k, :, :20].mean(axis=0) for k in range(4)])  # (K, C, 20)
    spread = np.abs(means[:, None] - means[None, :]).max(axis=(2, 3))  # (K, K)
    assert spread[~np.eye(4, dtype=bool)].min() > 0.5  # a mean's noise: ~0.8 / sqrt(300)


def test_a_large_lazy_split_is_never_read_whole(tmp_path, monkeypatch) -> None:
    syn.write_synthetic(tmp_path / "d", 200, channels=4, length=16, classes=3)
    ds = load_dataset(f"npy:{tmp_path / 'd'}", seed=0)
    assert ds.train.materialize().x.shape[0] == len(ds.train)  # small: allowed
    monkeypatch.setattr(lazy_sequences, "MATERIALIZE_MAX_BYTES", 1000)
    with pytest.raises(DataError, match=r"this needs all 127 sequences of a split of npy: data "
                                        r"in memory \(0\.0 GiB\)"):
        ds.train.x  # noqa: B018
