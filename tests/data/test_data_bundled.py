"""Datasets bundled with aeon: JapaneseVowels (the default) and ``ucr:<Name>``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasx.data import bundled_classification_names, dataset_names, load_dataset
from nasx.data.aeon_source import load_bundled
from nasx.data.masks import mask_from_lengths
from nasx.errors import DataError

JV_TEST_COUNTS = [31, 35, 88, 44, 29, 24, 40, 50, 29]


@pytest.fixture(scope="module")
def jv():
    return load_dataset("japanese-vowels")


@pytest.fixture(scope="module")
def jv_raw():
    return load_dataset("japanese-vowels", normalize=False)


def _counts(y: torch.Tensor, k: int) -> list[int]:
    return torch.bincount(y, minlength=k).tolist()


def test_japanese_vowels_sizes_classes_and_lengths(jv):
    assert jv.name == "japanese-vowels"
    assert jv.classes == ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
    assert (jv.channels, jv.num_classes, jv.max_length) == (12, 9, 29)
    assert (len(jv.train), len(jv.val), len(jv.test)) == (216, 54, 370)
    # 30 training sequences per class: 6 (= 0.2 * 30) go to val, 24 stay in train.
    assert _counts(jv.train.y, 9) == [24] * 9
    assert _counts(jv.val.y, 9) == [6] * 9
    assert _counts(jv.test.y, 9) == JV_TEST_COUNTS
    assert jv.train.x.shape == (216, 12, 26)
    assert jv.val.x.shape == (54, 12, 23)
    assert jv.test.x.shape == (370, 12, 29)
    lengths = torch.cat([jv.train.lengths, jv.val.lengths])
    assert (int(lengths.min()), int(lengths.max())) == (7, 26)
    assert (int(jv.test.lengths.min()), int(jv.test.lengths.max())) == (7, 29)
    for split in (jv.train, jv.val, jv.test):
        assert split.x.dtype == torch.float32
        assert split.lengths.dtype == torch.int64
        assert split.y.dtype == torch.int64


def test_japanese_vowels_summary(jv):
    summary = jv.summary()
    assert summary["splits"]["train"]["length"] == {"min": 7, "median": 15.0, "max": 26}
    assert summary["splits"]["val"]["length"] == {"min": 9, "median": 16.0, "max": 23}
    assert summary["splits"]["test"]["length"] == {"min": 7, "median": 15.0, "max": 29}
    assert summary["splits"]["val"]["class_counts"] == {str(c): 6 for c in range(1, 10)}
    assert [summary[k] for k in ("name", "channels", "num_classes", "max_length")] == [
        "japanese-vowels",
        12,
        9,
        29,
    ]


def _valid_stats(x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    valid = mask_from_lengths(lengths, x.shape[-1])  # (N, L)
    steps = x.double().permute(1, 0, 2)[:, valid]  # (C, total valid steps)
    return steps.mean(dim=1), steps.std(dim=1, unbiased=False)


def test_normalisation_is_fitted_on_train_only(jv, jv_raw):
    mean, std = _valid_stats(jv.train.x, jv.train.lengths)
    torch.testing.assert_close(mean, torch.zeros(12, dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(std, torch.ones(12, dtype=torch.float64), atol=1e-5, rtol=0)
    raw_mean, raw_std = _valid_stats(jv_raw.train.x, jv_raw.train.lengths)
    torch.testing.assert_close(jv.mean, raw_mean.float())
    torch.testing.assert_close(jv.std, raw_std.float())
    # val and test use the train statistics, not their own.
    for norm, raw in ((jv.val, jv_raw.val), (jv.test, jv_raw.test)):
        expected = (raw.x.double() - raw_mean[None, :, None]) / raw_std[None, :, None]
        valid = mask_from_lengths(raw.lengths, raw.max_length)[:, None, :].expand_as(raw.x)
        torch.testing.assert_close(norm.x[valid], expected.float()[valid])
    test_mean, _ = _valid_stats(jv.test.x, jv.test.lengths)
    assert float(test_mean.abs().max()) > 0.01


def test_padded_steps_are_exactly_zero(jv):
    for split in (jv.train, jv.val, jv.test):
        pad = ~mask_from_lengths(split.lengths, split.max_length)[:, None, :].expand_as(split.x)
        assert int(pad.sum()) > 0
        assert torch.equal(split.x[pad], torch.zeros(int(pad.sum())))


def test_unnormalised_statistics_are_identity(jv_raw):
    assert jv_raw.normalized is False
    assert torch.equal(jv_raw.mean, torch.zeros(12))
    assert torch.equal(jv_raw.std, torch.ones(12))


def test_same_seed_same_split_other_seed_other_split(jv):
    again = load_dataset("japanese-vowels", seed=0)
    other = load_dataset("japanese-vowels", seed=1)
    assert torch.equal(again.val.x, jv.val.x)
    assert torch.equal(again.val.y, jv.val.y)
    assert torch.equal(again.train.lengths, jv.train.lengths)
    assert other.val.x.shape != jv.val.x.shape or not torch.equal(other.val.x, jv.val.x)
    assert _counts(other.val.y, 9) == [6] * 9  # still stratified
    assert other.summary()["splits"]["val"]["length"] == {"min": 7, "median": 15.0, "max": 26}
    assert torch.equal(
        other.test.lengths, load_dataset("japanese-vowels", seed=0, normalize=False).test.lengths
    )


def test_val_fraction_changes_per_class_counts():
    ds = load_dataset("japanese-vowels", val_fraction=0.1)
    assert _counts(ds.val.y, 9) == [3] * 9
    assert _counts(ds.train.y, 9) == [27] * 9


def test_osuleaf_loads_offline():
    ds = load_dataset("ucr:OSULeaf")
    assert ds.classes == ["1", "2", "3", "4", "5", "6"]
    assert (ds.channels, ds.max_length) == (1, 427)
    assert (len(ds.train) + len(ds.val), len(ds.test)) == (200, 242)
    assert (len(ds.train), len(ds.val)) == (159, 41)
    assert _counts(ds.val.y, 6) == [7, 6, 7, 11, 7, 3]
    assert _counts(ds.train.y, 6) == [27, 23, 26, 42, 29, 12]
    assert ds.test.x.shape == (242, 1, 427)


def test_bundled_names_are_the_classification_folders():
    assert bundled_classification_names() == (
        "ACSF1",
        "ArrowHead",
        "BasicMotions",
        "Covid3Month_disc",
        "GunPoint",
        "ItalyPowerDemand",
        "JapaneseVowels",
        "OSULeaf",
        "PickupGestureWiimoteZ",
        "UnitTest",
    )
    assert dataset_names()[:3] == ["japanese-vowels", "ucr:ACSF1", "ucr:ArrowHead"]
    assert len(dataset_names()) == 11


def test_not_bundled_fails_without_touching_the_network(monkeypatch):
    import aeon.datasets._data_loaders as loaders

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(loaders, "_download_all_zenodo_files", no_network)
    with pytest.raises(DataError) as err:
        load_dataset("ucr:FordA")
    bundled = ", ".join(bundled_classification_names())
    assert str(err.value) == (
        "dataset 'ucr:FordA' is not bundled with aeon and nasx does not download "
        f"(bundled: {bundled}); for other data save an npz file and use 'npz:<path>'"
    )
    raw = load_bundled.__wrapped__("ArrowHead", "ucr:ArrowHead")  # bypass the cache
    assert (len(raw.train), len(raw.test), raw.train.x.shape[-1]) == (36, 175, 251)


def test_wrong_case_suggests_the_bundled_name():
    with pytest.raises(DataError) as err:
        load_dataset("ucr:osuleaf")
    assert str(err.value) == (
        "dataset 'ucr:osuleaf' is not bundled with aeon; did you mean 'ucr:OSULeaf'?"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "mnist",
            "unknown dataset 'mnist'; use japanese-vowels, ucr:<Name> (see 'nasx data list'), "
            "npz:<path> or npy:<folder>",
        ),
        ("ucr:", "dataset 'ucr:' needs a name, e.g. ucr:OSULeaf (see 'nasx data list')"),
        ("npz:", "dataset 'npz:' needs a path, e.g. npz:data/train.npz"),
    ],
)
def test_bad_names(name, message):
    with pytest.raises(DataError) as err:
        load_dataset(name)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"val_fraction": 0.0}, "val_fraction must be between 0 and 1 (exclusive), got 0.0"),
        ({"val_fraction": 1.0}, "val_fraction must be between 0 and 1 (exclusive), got 1.0"),
        ({"seed": -1}, "seed must be a non-negative int, got -1"),
    ],
)
def test_bad_split_arguments(kwargs, message):
    with pytest.raises(DataError) as err:
        load_dataset("japanese-vowels", **kwargs)
    assert str(err.value) == message


def test_cached_arrays_are_read_only():
    raw = load_bundled("JapaneseVowels", "japanese-vowels")
    assert raw.train.x.flags.writeable is False
    assert raw.train.x.shape == (270, 12, 26)
    assert np.array_equal(np.unique(raw.train.lengths)[[0, -1]], [7, 26])
