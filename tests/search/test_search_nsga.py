"""Constraints on hand cases, the search backends' archives, fronts and seeding."""

from __future__ import annotations

import numpy as np
import pytest
from search_models import fitted_ridge

from nasx.predictors import CostModel, load_device
from nasx.search.archive import Archive, history_csv, read_history
from nasx.search.budgets import parse_budgets
from nasx.search.hypervolume import hypervolume, reference_point
from nasx.search.nsga import run_nsga2
from nasx.search.objectives import DeviceCosts, DeviceObjective
from nasx.search.optuna_backend import run_optuna
from nasx.search.pareto import best_row, front_rows
from nasx.search.random_search import run_random
from nasx.search.repair import GenomeRepair
from nasx.search.task import SearchTask, budget_violation, constraint_matrix
from nasx.search_spaces import GenomeCodec, arch_id, load_space


def test_constraints_on_hand_cases() -> None:
    costs = DeviceCosts(latency_ms=np.array([1.0, 3.0, 2.0]),
                        sram_kb=np.array([100.0, 50.0, 300.0]),
                        flash_kb=np.array([500.0, 900.0, 100.0]),
                        supported=np.array([True, True, False]))
    budgets = parse_budgets("d: sram<=200KB, flash<=1000KB; d: latency<=2.5ms")
    v = budget_violation(costs, budgets)
    np.testing.assert_allclose(v, [[-0.5, -0.6], [-0.1, 0.2], [0.5, -0.2]])
    G = constraint_matrix(costs, budgets)
    np.testing.assert_allclose(G, [[-0.6, 0.0], [-0.1, 0.0], [-0.2, 1.0]])
    # no budget: only the bit-width support constrains
    np.testing.assert_allclose(constraint_matrix(costs, []), [[0, 0], [0, 0], [0, 1]])


@pytest.fixture(scope="module")
def task() -> SearchTask:
    space = load_space("tiny")
    dev = load_device("stm32f746")
    model = CostModel(space, 12, 9, length=29, device=dev)
    budgets = parse_budgets("stm32f746: sram<=10KB, flash<=60KB; stm32f746: latency<=2ms")
    return SearchTask(fitted_ridge(space), DeviceObjective(dev, model), budgets)


@pytest.fixture(scope="module")
def repair(task: SearchTask) -> GenomeRepair:
    return GenomeRepair(GenomeCodec(task.device.cost_model.space))


def test_task_objectives_and_budgets(task: SearchTask, repair: GenomeRepair) -> None:
    rng = np.random.default_rng(0)
    g = repair(np.floor(rng.random((200, repair.codec.length)) * (repair.codec.upper + 1)))
    ev = task.evaluate(g)
    mean, _ = task.accuracy.predict(g)
    costs = task.device.cost_model.costs(g)
    np.testing.assert_allclose(ev.F[:, 0], 1 - mean)
    np.testing.assert_allclose(ev.F[:, 1], costs["latency_s"] * 1e3)
    sram, flash = costs["sram_bytes"] / 1024, costs["flash_bytes"] / 1024
    lat = costs["latency_s"] * 1e3
    meets0 = (sram <= 10) & (flash <= 60) & costs["supported"]
    meets1 = (lat <= 2) & costs["supported"]
    np.testing.assert_array_equal(ev.meets, np.column_stack([meets0, meets1]))
    np.testing.assert_array_equal(ev.feasible, meets0 | meets1)
    assert 0 < ev.feasible.sum() < len(g)  # the budgets bite on this sample


def test_seeded_search_is_reproducible(task: SearchTask, repair: GenomeRepair) -> None:
    a = run_nsga2(task, repair, n_evals=250, pop_size=40, seed=3)
    b = run_nsga2(task, repair, n_evals=250, pop_size=40, seed=3)
    c = run_nsga2(task, repair, n_evals=250, pop_size=40, seed=4)
    np.testing.assert_array_equal(a.genomes, b.genomes)
    np.testing.assert_array_equal(a.generation, b.generation)
    assert history_csv([a], repair.codec) == history_csv([b], repair.codec)
    assert not np.array_equal(a.genomes, c.genomes)


def test_archive_holds_every_evaluation_once(task: SearchTask, repair: GenomeRepair) -> None:
    calls: list[int] = []
    original = task.evaluate

    class Counting(SearchTask):
        def evaluate(self, genomes: np.ndarray):  # type: ignore[no-untyped-def]
            calls.append(len(genomes))
            return original(genomes)

    counting = Counting(task.accuracy, task.device, task.budgets)
    arch = run_nsga2(counting, repair, n_evals=250, pop_size=40, seed=0)
    assert sum(calls) == len(arch) == 250  # exactly n_evals, the last generation cut
    keys = {g.tobytes() for g in arch.genomes}
    assert len(keys) == 250  # every evaluation a new arch
    np.testing.assert_array_equal(repair(arch.genomes), arch.genomes)
    assert list(np.bincount(arch.generation)) == [40] * 6 + [10]
    np.testing.assert_allclose(arch.objectives, task.evaluate(arch.genomes).F)
    rows = read_history(history_csv([arch], repair.codec))
    assert len(rows) == 250
    for row, g in zip(rows[:20], arch.genomes[:20], strict=True):
        assert row["genome"] == " ".join(map(str, g))
        assert row["id"] == arch_id(repair.codec.decode(g))


def test_front_is_feasible_and_non_dominated(task: SearchTask, repair: GenomeRepair) -> None:
    arch = run_nsga2(task, repair, n_evals=400, pop_size=40, seed=1)
    front = front_rows(arch)
    F, feasible = arch.objectives, arch.feasible
    assert len(front) > 1 and feasible[front].all()
    for i in front:
        dominated = (F[front] <= F[i]).all(axis=1) & (F[front] < F[i]).any(axis=1)
        assert not dominated.any()
    for j in np.flatnonzero(feasible):  # every feasible point is weakly dominated by the front
        assert ((F[front] <= F[j]).all(axis=1)).any()
    assert (np.diff(F[front, 1]) >= 0).all()  # by latency


def test_best_row_per_budget(task: SearchTask, repair: GenomeRepair) -> None:
    arch = run_nsga2(task, repair, n_evals=200, pop_size=40, seed=2)
    for b in range(len(task.budgets)):
        r = best_row(arch, b)
        assert r is not None and arch.meets[r, b]
        assert arch.accuracy[r] == arch.accuracy[arch.meets[:, b]].max()


def test_optuna_backend_fills_the_same_archive(task: SearchTask, repair: GenomeRepair) -> None:
    a = run_optuna(task, repair, n_trials=90, pop_size=30, seed=0)
    b = run_optuna(task, repair, n_trials=90, pop_size=30, seed=0)
    np.testing.assert_array_equal(a.genomes, b.genomes)
    assert 0 < len(a) <= 90
    assert len({g.tobytes() for g in a.genomes}) == len(a)
    np.testing.assert_array_equal(repair(a.genomes), a.genomes)
    np.testing.assert_allclose(a.objectives, task.evaluate(a.genomes).F)
    assert set(np.unique(a.generation)) == {0, 1, 2}
    assert len(front_rows(a)) >= 1


def test_nsga_beats_random_at_equal_evaluations(task: SearchTask, repair: GenomeRepair) -> None:
    ref = reference_point(task)
    nsga = run_nsga2(task, repair, n_evals=1000, pop_size=50, seed=0)
    rand = run_random(task, repair, n_evals=1000, seed=0)
    assert len(rand) == 1000
    hv_nsga = hypervolume(nsga.objectives, nsga.feasible, ref)
    hv_rand = hypervolume(rand.objectives, rand.feasible, ref)
    assert 0 < hv_rand < hv_nsga < 1


def test_hypervolume_of_hand_points() -> None:
    ref = np.array([1.0, 10.0])
    F = np.array([[0.5, 5.0], [0.25, 7.5], [0.9, 1.0], [0.1, 20.0]])
    feasible = np.array([True, True, True, True])
    # normalised: (0.5, 0.5), (0.25, 0.75), (0.9, 0.1); the last is beyond the reference
    expected = 0.5 * 0.5 + 0.25 * 0.25 + 0.1 * 0.4
    assert hypervolume(F, feasible, ref) == pytest.approx(expected)
    assert hypervolume(F, np.zeros(4, dtype=bool), ref) == 0.0


def test_archive_round_and_device_in_history(task: SearchTask, repair: GenomeRepair) -> None:
    a = Archive("stm32f746", "analytic", round=2)
    run_random(task, repair, n_evals=5, seed=1, archive=a)
    rows = read_history(history_csv([a], repair.codec))
    assert {(r["round"], r["device"], r["latency_label"]) for r in rows} == {
        ("2", "stm32f746", "analytic")}
