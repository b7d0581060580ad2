"""The noise-aware pick: the cheapest validated subnet within the noise of the best (paired
standard errors of the validation loss; the accuracy noise floor for records without
per-sequence losses), with measured latency over a budget's limit counted as not meeting it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nasx.search.budgets import Budget
from nasx.search.noise_pick import loss_pick, noise_aware_pick, noise_floor, pick_budgets
from nasx.search_spaces import GenomeCodec, arch_id, load_space, random_arch

LATENCY = Budget("host-cpu: latency<=1ms", "host-cpu", latency_ms=1.0)
SRAM = Budget("host-cpu: sram<=64KB", "host-cpu", sram_kb=64)


def _model(noise_sd: float | None) -> SimpleNamespace:
    measurement = {} if noise_sd is None else {"noise_sd": noise_sd}
    return SimpleNamespace(info={"holdout": {"measurement": measurement}})


def test_noise_floor_reads_the_predictors_measurement() -> None:
    assert noise_floor(_model(0.0125)) == 0.0125
    assert noise_floor(_model(None)) == 0.0
    assert noise_floor(SimpleNamespace(info=None)) == 0.0
    assert noise_floor(object()) == 0.0


def test_constructed_case_picks_the_cheapest_within_the_floor() -> None:
    # best validated 0.90 (row 0, 2.0 ms); floor 0.01 -> rows 1 (0.895, 1.0 ms) and 3 (0.8901,
    # 1.5 ms) are within it; row 2 (0.80, 0.5 ms) is cheaper but below the floor; row 4 is the
    # cheapest of all but does not meet the budget
    acc = {0: 0.90, 1: 0.895, 2: 0.80, 3: 0.8901, 4: 0.95}
    ms = {0: 2.0, 1: 1.0, 2: 0.5, 3: 1.5, 4: 0.1}
    meets = np.array([True, True, True, True, False])
    p = noise_aware_pick(acc, ms, meets, 0.01, fallback=0, latency_name="measured latency")
    assert p.row == 1 and p.candidates == (1, 3, 0) and p.ties == ()
    assert p.best_validated == 0.90 and p.floor == 0.01
    assert p.rule == ("the cheapest (lowest measured latency) of the validated subnets meeting "
                      "the budget whose validated accuracy is within the noise floor (1.00 "
                      "points) of the best validated (90.00%); ties: higher validated accuracy, "
                      "then earlier evaluation")
    assert p.as_json({0: 5, 1: 6, 3: 7}) == {
        "rule": p.rule, "signal": "accuracy", "noise_floor": 0.01, "best_validated_accuracy": 0.90,
        "candidates": [6, 7, 5], "ties": []}
    # a zero floor keeps only the best; a wide one takes the cheapest feasible
    assert noise_aware_pick(acc, ms, meets, 0.0, 0).row == 0
    assert noise_aware_pick(acc, ms, meets, 0.2, 0).row == 2


def test_ties_go_to_the_higher_accuracy_then_the_earlier_row() -> None:
    acc = {3: 0.90, 1: 0.89, 2: 0.90}
    ms = {3: 1.0, 1: 1.0, 2: 1.0}
    p = noise_aware_pick(acc, ms, np.ones(4, dtype=bool), 0.02, None)
    assert p.row == 2 and p.ties == (3, 1)


def test_no_validated_subnet_meeting_the_budget_keeps_the_predicted_pick() -> None:
    p = noise_aware_pick({0: 0.9}, {0: 1.0}, np.array([False, True]), 0.01, fallback=1)
    assert p.row == 1 and p.best_validated is None and p.candidates == ()
    assert p.rule.startswith("no validated subnet meets the budget")


def _round(measured: dict[int, float], validated: dict[int, float],
           losses: dict[int, np.ndarray] | None = None):
    codec = GenomeCodec(load_space("tiny"))
    rng = np.random.default_rng(0)
    genomes = np.stack([codec.encode(random_arch(codec.space, rng)) for _ in range(5)])
    predicted_ms = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    archive = SimpleNamespace(
        round=2, genomes=genomes, latency_label="measured",
        accuracy=np.array([0.95, 0.94, 0.93, 0.96, 0.90]),
        meets=np.array([[True, True], [True, True], [True, True], [False, True],
                        [True, True]]),  # (5 rows, 2 budgets)
        cost=lambda name: predicted_ms)
    per_seq: dict[int, np.ndarray | None] = dict(losses) if losses else dict.fromkeys(validated)
    mean = {r: float(v.astype(np.float64).mean()) for r, v in (losses or {}).items()}
    dr = SimpleNamespace(device="host-cpu", archive=archive, validated_ms=measured,
                         validated_acc=validated, validated_loss=mean, validated_losses=per_seq,
                         budgets=[(LATENCY, 0), (SRAM, 0)], picks={})
    ids = [arch_id(codec.decode(g)) for g in genomes]
    return dr, ids


def test_pick_budgets_folds_in_the_measured_latency_and_logs_the_rule() -> None:
    # row 0 is over the latency limit when measured; row 3 does not meet either budget by
    # prediction of the first; rows 1 and 2 validate alike (within the 1-point floor)
    dr, ids = _round({0: 1.2, 1: 0.8, 2: 0.7, 3: 0.6},
                     {0: 0.92, 1: 0.90, 2: 0.895, 3: 0.99})
    lines: list[str] = []
    pick_budgets(dr, _model(0.01), "onnxruntime", lambda r: ids[r], lines.append)
    assert dr.budgets == [(LATENCY, 2), (SRAM, 3)]
    assert dr.picks[LATENCY.name].candidates == (2, 1)
    assert lines[0] == (f"round 2, host-cpu: budget '{LATENCY.name}': pick {ids[2]} (validated "
                        "89.50%, 0.700 ms), the cheapest of 2 validated within the noise floor "
                        "1.00 points of the best 90.00%")
    # the SRAM budget has no latency limit: row 3 (99%) is the best and alone within the floor
    assert lines[1].startswith(f"round 2, host-cpu: budget '{SRAM.name}': pick {ids[3]} ")


def test_pick_budgets_without_a_feasible_validated_subnet_keeps_the_prediction() -> None:
    dr, ids = _round({0: 1.2, 1: 1.1}, {0: 0.92, 1: 0.90})
    lines: list[str] = []
    pick_budgets(dr, _model(0.01), "onnxruntime", lambda r: ids[r], lines.append)
    assert dr.budgets[0] == (LATENCY, 0)
    assert lines[0] == (f"round 2, host-cpu: budget '{LATENCY.name}': no validated subnet "
                        f"meets it; the predicted pick {ids[0]} stays")


@pytest.mark.parametrize("floor", [0.0, 0.005, 0.03])
def test_random_cases_pick_the_cheapest_within_the_floor(floor: float) -> None:
    rng = np.random.default_rng(int(floor * 1000))
    for _ in range(200):
        n = int(rng.integers(1, 12))
        acc = {r: float(rng.choice([0.8, 0.85, 0.9, 0.91, 0.92])) for r in range(n)}
        ms = {r: float(rng.choice([0.5, 1.0, 1.5, 2.0])) for r in range(n)}
        meets = rng.random(n) < 0.7
        p = noise_aware_pick(acc, ms, meets, floor, None)
        ok = [r for r in range(n) if meets[r]]
        if not ok:
            assert p.row is None
            continue
        best = max(acc[r] for r in ok)
        within = [r for r in ok if acc[r] >= best - floor - 1e-12]
        assert p.row in within
        assert ms[p.row] == min(ms[r] for r in within)


def test_loss_rule_constructed_case_uses_paired_standard_errors() -> None:
    # 4 validation sequences. Row 0 has the lowest mean loss (0.25). Row 1 is worse by 0.05 on
    # average with a noisy difference (+0.3, -0.1, 0, 0: se 0.087) -> within one se. Row 2 is
    # worse by 0.1 on every sequence (se 0) -> outside. Row 3 is cheapest but misses the budget.
    per = {0: np.array([0.1, 0.4, 0.2, 0.3]), 1: np.array([0.4, 0.3, 0.2, 0.3]),
           2: np.array([0.2, 0.5, 0.3, 0.4]), 3: np.array([0.0, 0.0, 0.0, 0.0])}
    mean = {r: float(v.mean()) for r, v in per.items()}
    acc = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}
    ms = {0: 3.0, 1: 2.0, 2: 1.0, 3: 0.5}
    meets = np.array([True, True, True, False])
    p = loss_pick(per, mean, acc, ms, meets, fallback=None, latency_name="measured latency")
    assert p.row == 1 and p.candidates == (1, 0) and p.signal == "loss"
    assert p.best_loss == pytest.approx(0.25)
    gap, se = p.gaps[1]
    assert gap == pytest.approx(0.05) and se == pytest.approx(np.std([0.3, -0.1, 0, 0], ddof=1) / 2)
    assert p.gaps[2] == (pytest.approx(0.1), pytest.approx(0.0, abs=1e-12))
    assert p.rule == ("the cheapest (lowest measured latency) of the validated subnets meeting the "
                      "budget whose mean validation loss is within 1 standard error(s) of the "
                      "paired difference from the lowest (0.2500); ties: lower loss, then "
                      "earlier evaluation")
    doc = p.as_json({0: 7, 1: 8, 2: 9})
    assert doc["signal"] == "loss" and doc["candidates"] == [8, 7] and doc["se_multiple"] == 1.0
    assert [g["index"] for g in doc["loss_gaps"]] == [7, 8, 9]
    # se 0 keeps only the lowest loss; a gap the same on every sequence is no noise: no
    # multiple lets row 2 in, while a wide multiple lets in any noisy gap
    assert loss_pick(per, mean, acc, ms, meets, None, se_multiple=0.0).row == 0
    assert loss_pick(per, mean, acc, ms, meets, None, se_multiple=100.0).row == 1
    per[2] = per[2] + np.array([0.0, 0.1, -0.1, 0.0])  # the same mean gap, now noisy
    assert loss_pick(per, mean, acc, ms, meets, None, se_multiple=100.0).row == 2


def test_pick_budgets_uses_the_loss_rule_when_every_record_has_losses() -> None:
    # row 1 validates lower in accuracy than row 0 but its loss is within one se of row 0's
    # and it is cheaper; row 2 is cheaper still but clearly worse on loss
    losses = {0: np.array([0.1, 0.2, 0.9, 0.2]), 1: np.array([0.3, 0.1, 0.8, 0.4]),
              2: np.array([1.5, 1.9, 2.2, 1.7])}
    dr, ids = _round({0: 0.9, 1: 0.8, 2: 0.7}, {0: 1.0, 1: 0.75, 2: 0.75}, losses)
    lines: list[str] = []
    pick_budgets(dr, _model(0.0), "onnxruntime", lambda r: ids[r], lines.append)
    assert dr.budgets == [(LATENCY, 1), (SRAM, 1)]
    assert dr.picks[LATENCY.name].signal == "loss"
    assert lines[0] == (f"round 2, host-cpu: budget '{LATENCY.name}': pick {ids[1]} (validated "
                        "75.00%, 0.800 ms), the cheapest of 2 validated within 1 standard "
                        "error(s) of the lowest validation loss 0.3500")
    # one record without losses: the accuracy rule (floor 0: the best accuracy alone)
    dr, ids = _round({0: 0.9, 1: 0.8, 2: 0.7}, {0: 1.0, 1: 0.75, 2: 0.75},
                     {0: losses[0], 1: losses[1]})
    dr.validated_losses[2] = None
    pick_budgets(dr, _model(0.0), "onnxruntime", lambda r: ids[r], lines.append)
    assert dr.budgets == [(LATENCY, 0), (SRAM, 0)] and dr.picks[LATENCY.name].signal == "accuracy"
