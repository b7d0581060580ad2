"""Measurement precision of a validation split: packing, split-half reliability, tau ceiling."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nasx.predictors.accuracy.data import SubnetRecord, measurement_reliability, read_records
from nasx.predictors.accuracy.reliability import (
    pack_correct,
    split_half_reliability,
    unpack_correct,
)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 41, 1000])
def test_pack_round_trip(n: int) -> None:
    bits = np.random.default_rng(n).random(n) < 0.5
    text = pack_correct(bits)
    assert len(text) == 2 * ((n + 7) // 8)
    assert np.array_equal(unpack_correct(text, n), bits)


def test_pack_bit_order() -> None:
    assert pack_correct(np.array([1, 0, 0, 0, 0, 0, 0, 1, 1], dtype=bool)) == "8180"


def test_unpack_wrong_length() -> None:
    with pytest.raises(ValueError, match=r"^2 bytes of correctness for 20 sequences; want 3$"):
        unpack_correct("ffff", 20)


def test_two_sequences_by_hand() -> None:
    # Every split puts one sequence in each half: r = corr((1,1,0), (1,0,0)) = 0.5.
    rel = split_half_reliability(np.array([[1, 1], [1, 0], [0, 0]]))
    assert rel is not None
    assert rel.split_half_r == pytest.approx(0.5)
    assert rel.reliability == pytest.approx(2 / 3)
    assert rel.tau_expected == pytest.approx(2 / math.pi * math.asin(math.sqrt(2 / 3)))
    # accuracies (1, 0.5, 0): variance 1/6, noise variance (1 - 2/3) / 6
    assert rel.noise_sd == pytest.approx(math.sqrt(1 / 18))
    assert (rel.subnets, rel.sequences) == (3, 2)


def test_consistent_subnets_are_perfectly_reliable() -> None:
    # Each subnet is right on all sequences or on none: the halves agree exactly.
    m = np.repeat(np.array([[1], [0], [1], [0]]), 12, axis=1)
    rel = split_half_reliability(m)
    assert rel is not None
    assert (rel.split_half_r, rel.reliability, rel.tau_expected, rel.noise_sd) == \
        pytest.approx((1.0, 1.0, 1.0, 0.0))


def test_independent_noise_is_unreliable() -> None:
    # Subnets that differ only by coin flips: their accuracies carry (almost) no signal.
    rng = np.random.default_rng(0)
    rel = split_half_reliability(rng.random((300, 200)) < 0.8)
    assert rel is not None and rel.reliability < 0.2 and rel.tau_expected < 0.3
    # Give them real differences and the reliability rises.
    skill = np.linspace(0.5, 0.95, 300)[:, None]
    good = split_half_reliability(rng.random((300, 200)) < skill)
    assert good is not None and good.reliability > 0.9 and good.tau_expected > 0.75


def test_signal_plus_noise_matches_theory() -> None:
    # Subnet signal s (variance 1) plus independent per-sequence noise whose half-mean variance
    # is 1: half means correlate at 1 / (1 + 1).
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(400, 1))
    noisy = signal + rng.normal(size=(400, 400)) * math.sqrt(200)
    rel = split_half_reliability(noisy, splits=20)
    assert rel is not None
    assert rel.split_half_r == pytest.approx(0.5, abs=0.06)
    assert rel.reliability == pytest.approx(2 * rel.split_half_r / (1 + rel.split_half_r))
    assert rel.tau_expected == pytest.approx(2 / math.pi * math.asin(math.sqrt(rel.reliability)))
    # full-mean noise variance 1/2 of a total of about 1.5
    assert rel.noise_sd == pytest.approx(math.sqrt(0.5), rel=0.1)


def test_undefined_cases() -> None:
    assert split_half_reliability(np.ones((2, 10))) is None  # too few subnets
    assert split_half_reliability(np.ones((5, 1))) is None  # too few sequences
    assert split_half_reliability(np.ones((5, 10))) is None  # nothing varies
    with pytest.raises(ValueError, match="must be"):
        split_half_reliability(np.ones(5))


def test_records_carry_correctness(tmp_path) -> None:
    path = tmp_path / "data.jsonl"
    rows = [[1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1]]
    recs = [SubnetRecord(f"id{i}", (i,), sum(r) / 3, 0.5, 3, pack_correct(np.array(r, bool)))
            for i, r in enumerate(rows)]
    old = SubnetRecord("old", (9,), 0.5, 0.5)  # a line written before correctness was stored
    path.write_text("".join(json.dumps(r.as_json()) + "\n"
                            for r in [*recs, old]))
    back = read_records(path)
    assert list(back.values()) == [*recs, old]
    assert np.array_equal(back["id1"].correct(), [True, False, False])
    assert back["old"].correct() is None
    want = split_half_reliability(np.array(rows), seed=3)
    assert measurement_reliability(list(back.values()), seed=3) == want
    assert measurement_reliability([old]) is None


def test_bad_correctness_is_a_one_line_error(tmp_path) -> None:
    from nasx.errors import NasxError

    path = tmp_path / "data.jsonl"
    path.write_text('{"id": "a", "genome": [0], "val_acc": 1.0, "val_loss": 0.1, '
                    '"val_n": 20, "val_correct": "ffff"}\n')
    with pytest.raises(NasxError, match=r"data.jsonl:1: not a subnet record \(ValueError: 2 "
                       r"bytes of correctness for 20 sequences; want 3\); delete the line"):
        read_records(path)
