"""Training-batch augmentation: window crop + resampling, amplitude scale, jitter."""

from __future__ import annotations

import pytest
import torch

from nasx.config import RunConfig, load_config
from nasx.data import Batch
from nasx.data.augment import Augmentation, augment_batch, crop_resample
from nasx.errors import ConfigError


def _ragged() -> Batch:
    """3 sequences, 2 channels, lengths 10, 6 and 1 (zero-padded)."""
    torch.manual_seed(0)
    lengths = torch.tensor([10, 6, 1])
    x = torch.randn(3, 2, 10)
    x = x * (torch.arange(10)[None, :] < lengths[:, None]).unsqueeze(1)
    return Batch(x=x, lengths=lengths, y=torch.tensor([0, 1, 2]))


def test_crop_resample_golden_values() -> None:
    x = torch.arange(10.0).view(1, 1, 10)
    out = crop_resample(x, torch.tensor([10]), torch.tensor([2.0]), torch.tensor([5.0]))
    # window [2, 6] spread over 10 steps: 2 + t * 4/9
    assert torch.allclose(out[0, 0], 2 + torch.arange(10.0) * 4 / 9, atol=1e-6)
    half = crop_resample(x, torch.tensor([10]), torch.tensor([0.5]), torch.tensor([2.0]))
    assert torch.allclose(half[0, 0], 0.5 + torch.arange(10.0) / 9, atol=1e-6)


def test_full_window_is_the_identity_and_padding_stays_zero() -> None:
    b = _ragged()
    n = b.lengths.float()
    out = crop_resample(b.x, b.lengths, torch.zeros(3), n)
    assert torch.equal(out, b.x)
    shifted = crop_resample(b.x, b.lengths, torch.tensor([1.0, 2.0, 0.0]), n - torch.tensor(
        [3.0, 3.0, 0.0]))
    assert torch.equal(shifted[0, :, :1], b.x[0, :, 1:2])  # starts at step 1
    assert torch.equal(shifted[1, :, 5], b.x[1, :, 4])  # ends at step 2 + 3 - 1 = 4
    assert (shifted[1, :, 6:] == 0).all() and (shifted[2, :, 1:] == 0).all()


def test_augment_keeps_lengths_labels_padding_and_is_seeded() -> None:
    b = _ragged()
    aug = Augmentation(crop=0.7, scale=0.2, noise=0.1)
    one = augment_batch(b, aug, torch.Generator().manual_seed(5))
    two = augment_batch(b, aug, torch.Generator().manual_seed(5))
    other = augment_batch(b, aug, torch.Generator().manual_seed(6))
    assert torch.equal(one.x, two.x) and not torch.equal(one.x, other.x)
    assert torch.equal(one.lengths, b.lengths) and torch.equal(one.y, b.y)
    assert (one.x[1, :, 6:] == 0).all() and (one.x[2, :, 1:] == 0).all()
    assert not torch.equal(one.x[:, :, :1], b.x[:, :, :1])


def test_scale_alone_multiplies_each_sequence_and_channel_by_its_draw() -> None:
    b = _ragged()
    out = augment_batch(b, Augmentation(scale=0.3), torch.Generator().manual_seed(1))
    factor = torch.exp(0.3 * torch.randn(3, 2, 1, generator=torch.Generator().manual_seed(1)))
    assert torch.allclose(out.x, b.x * factor, atol=1e-6)


def test_noise_alone_adds_jitter_on_valid_steps_only() -> None:
    b = _ragged()
    out = augment_batch(b, Augmentation(noise=0.5), torch.Generator().manual_seed(2))
    jitter = 0.5 * torch.randn(3, 2, 10, generator=torch.Generator().manual_seed(2))
    valid = (torch.arange(10)[None, :] < b.lengths[:, None]).unsqueeze(1)
    assert torch.allclose(out.x, torch.where(valid, b.x + jitter, 0.0), atol=1e-6)


def test_neutral_augmentation_returns_the_batch_untouched() -> None:
    b = _ragged()
    assert augment_batch(b, Augmentation(), torch.Generator().manual_seed(0)) is b


def test_crop_draws_windows_of_at_least_the_fraction() -> None:
    # A ramp stays a ramp under window slicing: its slope is width-1 over n-1 per step.
    n = 101
    x = torch.arange(float(n)).view(1, 1, n).repeat(400, 1, 1)
    b = Batch(x=x, lengths=torch.full((400,), n), y=torch.zeros(400, dtype=torch.long))
    out = augment_batch(b, Augmentation(crop=0.6), torch.Generator().manual_seed(3)).x[:, 0]
    width = (out[:, -1] - out[:, 0]) + 1  # (400,)
    assert width.min() >= 0.6 * n - 1 and width.max() <= n + 1e-4
    assert width.min() < 0.65 * n and width.max() > 0.95 * n  # the whole range is drawn
    assert out[:, 0].min() >= 0 and out[:, -1].max() <= n - 1 + 1e-4


def test_config_keys_and_range_errors() -> None:
    cfg = load_config(RunConfig, None, ["data.augment.crop=0.8", "data.augment.scale=0.1"])
    assert (cfg.data.augment.crop, cfg.data.augment.scale, cfg.data.augment.noise) == (
        0.8, 0.1, "auto")
    with pytest.raises(ConfigError, match=r"^config key 'data.augment.crop' must be auto or in "
                                          r"\(0, 1\], got 0.0$"):
        load_config(RunConfig, None, ["data.augment.crop=0"])
    with pytest.raises(ConfigError, match=r"^config key 'data.augment.noise' must be auto or "
                                          r">= 0"):
        load_config(RunConfig, None, ["data.augment.noise=-1"])
