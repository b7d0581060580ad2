"""The data-aware recipe: every ``auto`` value decided from the data, user values kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasx.config import RunConfig, load_config
from nasx.data import SequenceSet, load_dataset
from nasx.data.normalize import auto_mode, series_scale_spread, series_standardize
from nasx.recipe import DataProfile, needs_resolving, profile_data, resolve_recipe


def _profile(n_train: int = 200, length: float = 30.0, norm: str = "channel") -> DataProfile:
    return DataProfile(n_train=n_train, channels=3, median_length=length, normalization=norm)


def test_small_short_data_gets_the_step_floor_and_mcu_space():
    cfg = resolve_recipe(load_config(RunConfig, None, []), _profile(n_train=200, length=30))
    # 200 / 32 -> 7 steps per epoch; 120 epochs = 840 steps < the 2000-step floor
    assert (cfg.space, cfg.train.epochs, cfg.data.batch_size) == ("hybrid-mcu", 286, 32)
    assert cfg.train.epochs * 7 >= 2000 > (cfg.train.epochs - 1) * 7
    assert cfg.train.eps_warmup == 14.3 and cfg.train.eval_every == 6
    assert cfg.train.calib_batches == 0  # the whole training split
    assert (cfg.data.augment.crop, cfg.data.augment.scale, cfg.data.augment.noise) == (
        1.0, 0.1, 0.05)
    assert cfg.data.normalize == "channel" and not needs_resolving(cfg)


def test_few_dozen_series_get_batches_of_16():
    cfg = resolve_recipe(load_config(RunConfig, None, []), _profile(n_train=40, length=150))
    # 40 / 16 -> 3 steps per epoch; 2000 steps -> 667 epochs
    assert (cfg.space, cfg.data.batch_size, cfg.train.epochs) == ("hybrid-long", 16, 667)
    assert cfg.train.eval_every == 14 and cfg.train.delay == 0.25
    # long and few: the window crop as well as scale and noise
    assert (cfg.data.augment.crop, cfg.data.augment.scale, cfg.data.augment.noise) == (
        0.8, 0.1, 0.05)


def test_the_window_crop_needs_long_and_few_series():
    at_short = resolve_recipe(load_config(RunConfig, None, []), _profile(n_train=40, length=64))
    assert at_short.data.augment.crop == 1.0  # SHORT_LENGTH itself counts as short
    above = resolve_recipe(load_config(RunConfig, None, []), _profile(n_train=40, length=64.5))
    assert above.data.augment.crop == 0.8
    many = resolve_recipe(load_config(RunConfig, None, []), _profile(n_train=2001, length=400))
    assert many.data.augment.crop == 1.0
    kept = resolve_recipe(load_config(RunConfig, None, ["data.augment.crop=1"]),
                          _profile(n_train=40, length=400))
    assert kept.data.augment.crop == 1.0 and kept.data.augment.scale == 0.1


def test_large_long_data_gets_epochs_at_scale_capped_and_no_augmentation():
    big = resolve_recipe(load_config(RunConfig, None, []), _profile(n_train=100_000, length=400))
    assert big.space == "hybrid-long" and big.train.epochs == 10  # 30,000-step cap / 3,125
    assert big.train.calib_batches == 8
    assert (big.data.augment.crop, big.data.augment.scale, big.data.augment.noise) == (
        1.0, 0.0, 0.0)
    mid = resolve_recipe(load_config(RunConfig, None, []), _profile(n_train=3200, length=65))
    assert mid.space == "hybrid-long" and mid.train.epochs == 120 and mid.train.eval_every == 3


def test_user_values_are_kept_and_a_resolved_config_is_unchanged():
    given = load_config(RunConfig, None, ["space=tiny", "train.epochs=7", "data.normalize=none",
                                          "train.eps_warmup=1", "data.augment.noise=0"])
    cfg = resolve_recipe(given, _profile(norm="series"))
    assert (cfg.space, cfg.train.epochs, cfg.data.normalize, cfg.train.eps_warmup) == (
        "tiny", 7, "none", 1.0)
    assert cfg.data.augment.noise == 0.0 and cfg.data.augment.scale == 0.1
    assert resolve_recipe(cfg) is cfg  # nothing left to decide: the data is not even loaded


def test_profile_of_the_embedded_data():
    p = profile_data(load_config(RunConfig, None, []))
    assert (p.n_train, p.channels, p.median_length, p.normalization) == (216, 12, 15.0, "channel")


def _ragged(scales: list[float], seed: int = 0) -> SequenceSet:
    rng = np.random.default_rng(seed)
    x = np.zeros((len(scales), 2, 20), dtype=np.float32)
    lengths = np.array([12 + (i % 8) for i in range(len(scales))])
    for i, s in enumerate(scales):
        x[i, :, : lengths[i]] = s * rng.normal(size=(2, lengths[i])) + 3 * s
    return SequenceSet.from_numpy(x, lengths, np.zeros(len(scales), dtype=np.int64))


def test_series_standardize_matches_numpy_and_keeps_padding_zero():
    ds = _ragged([1.0, 1e3, 1e-2, 5.0])
    out = series_standardize(ds)
    for i, n in enumerate(ds.lengths.tolist()):
        v = ds.x[i, :, :n].double().numpy()
        want = (v - v.mean(axis=1, keepdims=True)) / v.std(axis=1, keepdims=True)
        np.testing.assert_allclose(out.x[i, :, :n].numpy(), want, atol=1e-5)
        assert torch.count_nonzero(out.x[i, :, n:]) == 0


def test_auto_normalisation_follows_the_amplitude_spread():
    equal = _ragged([1.0] * 20)
    spread = _ragged([10.0 ** (k % 5) for k in range(20)])  # 1 .. 1e4
    assert series_scale_spread(equal) == pytest.approx(1.0, rel=0.5)
    assert series_scale_spread(spread) > 100
    assert (auto_mode(equal), auto_mode(spread)) == ("channel", "series")


def test_load_dataset_modes():
    ch = load_dataset("japanese-vowels", normalize="channel")
    se = load_dataset("japanese-vowels", normalize="series")
    assert ch.normalization == "channel" and se.normalization == "series"
    assert load_dataset("japanese-vowels", normalize="auto").normalization == "channel"
    assert load_dataset("japanese-vowels", normalize=True).normalization == "channel"
    assert load_dataset("japanese-vowels", normalize=False).normalized is False
    n = int(se.val.lengths[0])
    assert se.val.x[0, :, :n].double().mean(dim=1).abs().max() < 1e-5
    assert se.mean.tolist() == [0.0] * 12 and se.std.tolist() == [1.0] * 12
