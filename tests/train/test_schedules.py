"""LR, ε and progressive-phase schedules: exact values at the boundaries."""

from __future__ import annotations

import math

import pytest

from nasx.train.schedules import delay_steps, lr_factor, progressive_phase, shrink_eps


def test_lr_warmup_is_linear_from_the_first_step() -> None:
    assert [lr_factor(s, 100, 4) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]


def test_lr_cosine_after_warmup() -> None:
    # total 104, warm-up 4: decay over 100 steps
    assert lr_factor(4, 104, 4) == 1.0
    assert lr_factor(54, 104, 4) == pytest.approx(0.5, abs=1e-15)
    assert lr_factor(29, 104, 4) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25)))
    assert lr_factor(104, 104, 4) == 0.0
    assert lr_factor(500, 104, 4) == 0.0  # clamped past the end


def test_lr_without_warmup_starts_at_the_peak() -> None:
    assert lr_factor(0, 10, 0) == 1.0
    assert lr_factor(5, 10, 0) == pytest.approx(0.5, abs=1e-15)


def test_delay_steps_floor() -> None:
    assert [delay_steps(100, d) for d in (0.0, 0.5, 0.555, 0.999)] == [0, 50, 55, 99]


def test_eps_is_zero_during_the_delay_then_ramps_over_eps_warmup_epochs() -> None:
    # 10 epochs x 10 steps, delay 0.5 -> shrinking starts at step 50; ramp 2 epochs = 20 steps
    eps = [shrink_eps(s, 100, 10, 0.5, 2.0) for s in range(100)]
    assert eps[:50] == [0.0] * 50
    assert eps[50] == 1 / 20
    assert eps[59] == 10 / 20
    assert eps[69] == 1.0
    assert eps[70:] == [1.0] * 30


def test_eps_jumps_to_one_without_warmup_and_has_no_delay_at_zero() -> None:
    assert [shrink_eps(s, 10, 5, 0.5, 0.0) for s in (4, 5, 9)] == [0.0, 1.0, 1.0]
    assert shrink_eps(0, 10, 5, 0.0, 1.0) == 1 / 5


def test_progressive_phases_split_the_shrinking_steps_equally() -> None:
    phases = [progressive_phase(s, 100, 0.2, 4) for s in range(100)]
    assert phases[:20] == [-1] * 20
    assert phases[20:40] == [0] * 20
    assert phases[40:60] == [1] * 20
    assert phases[60:80] == [2] * 20
    assert phases[80:] == [3] * 20
    assert progressive_phase(150, 100, 0.2, 4) == 3
