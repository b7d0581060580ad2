"""The pymoo backend: NSGA-II over the integer genome, batched evaluation, every evaluation
archived.

The loop is pymoo's ask-and-tell: each generation's children are evaluated in one vectorised
call of :meth:`SearchTask.evaluate` and recorded in the :class:`Archive` with their generation;
``on_generation(generation, archive)`` runs after each (for the hypervolume curve). The run
stops after exactly ``n_evals`` evaluations (the last generation is cut to fit), or earlier
when no new arch can be bred. Seeded through ``algorithm.setup(seed=...)``, which pymoo 0.6
turns into the ``random_state`` every operator draws from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.problem import Problem

from nasx.search.archive import Archive
from nasx.search.operators import (
    ArchiveDuplicates,
    GenomeCrossover,
    GenomeMutation,
    GenomeRepairOperator,
    GenomeSampling,
)
from nasx.search.repair import GenomeRepair
from nasx.search.task import CONSTRAINT_NAMES, SearchTask

GenerationHook = Callable[[int, Archive], None]


class GenomeProblem(Problem):
    """pymoo Problem over the genome of ``task``'s space; evaluations go to ``archive``."""

    def __init__(self, task: SearchTask, archive: Archive, upper: np.ndarray) -> None:
        super().__init__(n_var=len(upper), n_obj=task.n_obj,
                         n_ieq_constr=len(CONSTRAINT_NAMES), xl=np.zeros(len(upper)),
                         xu=upper.astype(float), vtype=int)
        self.task, self.archive = task, archive
        self.generation = 0

    def _evaluate(self, x: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        ev = self.task.evaluate(np.asarray(x, dtype=np.int64))
        self.archive.add(ev, self.generation)
        out["F"] = ev.F
        out["G"] = ev.G


def run_nsga2(task: SearchTask, repair: GenomeRepair, *, n_evals: int, pop_size: int = 100,
              seed: int = 0, archive: Archive | None = None,
              on_generation: GenerationHook | None = None,
              prob_var: float | None = None) -> Archive:
    """Run NSGA-II on ``task`` for ``n_evals`` evaluations and return the archive.

    Args:
        task: what to evaluate.
        repair: the canonicaliser of the task's space.
        n_evals: evaluations (distinct archs) to spend, >= ``pop_size``.
        pop_size: population size (also children per generation).
        seed: the pymoo seed.
        archive: where to record (a new one for ``task.device`` if ``None``).
        on_generation: called after each generation with its number and the archive.
        prob_var: per-gene mutation probability (default ``1 / active genes``).
    """
    if n_evals < pop_size:
        raise ValueError(f"n_evals ({n_evals}) must be >= pop_size ({pop_size})")
    if archive is None:
        archive = Archive(task.device.name, task.device.latency_label)
    problem = GenomeProblem(task, archive, repair.codec.upper)
    algorithm = NSGA2(
        pop_size=pop_size, sampling=GenomeSampling(repair),
        crossover=GenomeCrossover(repair), mutation=GenomeMutation(repair, prob_var=prob_var),
        repair=GenomeRepairOperator(repair), eliminate_duplicates=ArchiveDuplicates(archive.seen))
    algorithm.setup(problem, termination=("n_eval", n_evals), seed=seed)
    generation = 0
    start = len(archive)
    while algorithm.has_next():
        infills = algorithm.ask()
        if infills is None or len(infills) == 0:
            break
        left = n_evals - (len(archive) - start)
        if len(infills) > left:
            infills = infills[:left]
        problem.generation = generation
        algorithm.evaluator.eval(problem, infills)
        algorithm.tell(infills=infills)
        if on_generation is not None:
            on_generation(generation, archive)
        generation += 1
        if len(archive) - start >= n_evals:
            break
    return archive
