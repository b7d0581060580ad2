"""gap_summary: predicted against validated accuracy of validated front subnets."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from nasx.search.runner import gap_summary


def test_gaps_by_hand() -> None:
    model = SimpleNamespace(info={"holdout": {"measurement": {"noise_sd": 0.03}},
                                  "train_ids": ["b", "x"]})
    got = gap_summary(["a", "b", "c"], [0.9, 0.8, 0.7], [0.85, 0.82, 0.6], model)
    assert got["mean_abs_gap"] == pytest.approx((0.05 + 0.02 + 0.1) / 3)
    assert got["mean_gap"] == pytest.approx((0.05 - 0.02 + 0.1) / 3)
    assert got["unseen"] == 2  # b was in the predictor's training data
    assert got["mean_abs_gap_unseen"] == pytest.approx((0.05 + 0.1) / 2)
    assert got["noise_abs_gap"] == pytest.approx(0.03 * math.sqrt(2 / math.pi))
    # every validated subnet seen in training: no unseen gap
    seen = gap_summary(["b"], [0.8], [0.82], model)
    assert (seen["unseen"], seen["mean_abs_gap_unseen"]) == (0, None)


@pytest.mark.parametrize("info", [None, {}, {"holdout": {}}, {"holdout": {"measurement": None}}])
def test_no_noise_estimate_and_no_training_ids(info) -> None:
    got = gap_summary(["a"], [0.5], [0.75], SimpleNamespace(info=info))
    assert got == {"mean_abs_gap": 0.25, "mean_gap": -0.25, "unseen": None,
                   "mean_abs_gap_unseen": None, "noise_abs_gap": None}
    assert gap_summary(["a"], [0.5], [0.5], object())["noise_abs_gap"] is None
    empty = gap_summary([], [], [], None)
    assert empty["mean_abs_gap"] is None and empty["mean_gap"] is None
