"""A latency budget's pick on this machine is checked against its measured latency."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from nasx.search.budgets import Budget
from nasx.search.runner import SearchRunner
from nasx.search_spaces import GenomeCodec, arch_id, load_space, random_arch

BUDGET = Budget("host-cpu: latency<=1ms", "host-cpu", latency_ms=1.0)


def _setup(measured: dict[int, float]):
    codec = GenomeCodec(load_space("tiny"))
    rng = np.random.default_rng(0)
    genomes = np.stack([codec.encode(random_arch(codec.space, rng)) for _ in range(5)])
    archive = SimpleNamespace(
        round=2, genomes=genomes,
        accuracy=np.array([0.95, 0.94, 0.93, 0.96, 0.90]),
        meets=np.array([[True], [True], [True], [False], [True]]))  # (5 rows, 1 budget)
    dr = SimpleNamespace(device="host-cpu", archive=archive, validated_ms=measured)
    lines: list[str] = []
    runner = SimpleNamespace(codec=codec, log=lines.append)
    ids = [arch_id(codec.decode(g)) for g in genomes]
    return runner, dr, lines, ids


def _pick(runner, dr, row):
    return SearchRunner._measured_pick(runner, dr, 0, BUDGET, row)


def test_a_pick_within_budget_when_measured_stays() -> None:
    runner, dr, lines, _ = _setup({0: 0.99, 1: 0.5})
    assert _pick(runner, dr, 0) == 0 and lines == []
    assert _pick(runner, dr, None) is None
    unlimited = Budget("host-cpu: sram<=64KB", "host-cpu", sram_kb=64)
    assert SearchRunner._measured_pick(runner, dr, 0, unlimited, 0) == 0


def test_an_over_budget_pick_is_replaced_by_the_best_validated_one_that_fits() -> None:
    # row 0 is over when measured; row 3 fits when measured but not by prediction; rows 1 and
    # 2 fit both ways, and row 1 has the higher predicted accuracy
    runner, dr, lines, ids = _setup({0: 1.2, 1: 0.8, 2: 0.7, 3: 0.6})
    assert _pick(runner, dr, 0) == 1
    assert lines == [f"round 2, host-cpu: budget 'host-cpu: latency<=1ms': pick {ids[0]} "
                     f"measured 1.200 ms; replaced by {ids[1]} (measured 0.800 ms)"]


def test_ties_go_to_the_lower_measured_latency_and_none_fitting_keeps_the_pick() -> None:
    runner, dr, lines, ids = _setup({0: 1.2, 1: 0.8, 4: 0.3})
    dr.archive.accuracy[4] = dr.archive.accuracy[1]
    assert _pick(runner, dr, 0) == 4
    runner, dr, lines, ids = _setup({0: 1.2, 1: 1.1, 3: 0.6})
    assert _pick(runner, dr, 0) == 0
    assert lines == [f"round 2, host-cpu: budget 'host-cpu: latency<=1ms': pick {ids[0]} "
                     "measured 1.200 ms; no validated subnet meets the budget when measured, "
                     "so it stays (raise the budget or validate more subnets with --validate)"]
