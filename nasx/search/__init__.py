"""Constrained multi-objective search over the architecture genome (``nasx search``).

- :mod:`.budgets`: budget specs (``stm32f746: sram<=256KB, flash<=1MB; ...``);
- :mod:`.objectives`, :mod:`.task`: what is optimised (accuracy and latency Protocols, per-device
  costs, objectives ``F`` and constraints ``G <= 0`` of genome batches);
- :mod:`.repair`, :mod:`.operators`: canonical genomes and the pymoo operators;
- :mod:`.nsga`, :mod:`.optuna_backend`, :mod:`.random_search`: the backends, into an
  :class:`~.archive.Archive` of every evaluation;
- :mod:`.pareto`, :mod:`.hypervolume`, :mod:`.cheapest`, :mod:`.feasibility`: fronts, budget
  picks, hypervolume, the exact cheapest subnet per metric and impossible budgets;
- :mod:`.runner`, :mod:`.validate`, :mod:`.tensorboard_log`: ``nasx search`` end to end.
"""

from __future__ import annotations

from nasx.search.archive import Archive
from nasx.search.budgets import Budget, BudgetError, parse_budgets
from nasx.search.cheapest import Extreme, extreme_cost
from nasx.search.feasibility import ImpossibleBudgetError
from nasx.search.hypervolume import hypervolume, reference_point
from nasx.search.nsga import run_nsga2
from nasx.search.objectives import AccuracyModel, DeviceCosts, DeviceObjective, LatencyModel
from nasx.search.optuna_backend import run_optuna
from nasx.search.pareto import best_row, front_rows
from nasx.search.random_search import run_random
from nasx.search.repair import GenomeRepair
from nasx.search.task import Evaluation, SearchTask

__all__ = [
    "AccuracyModel",
    "Archive",
    "Budget",
    "BudgetError",
    "DeviceCosts",
    "DeviceObjective",
    "Evaluation",
    "Extreme",
    "GenomeRepair",
    "ImpossibleBudgetError",
    "LatencyModel",
    "SearchTask",
    "best_row",
    "extreme_cost",
    "front_rows",
    "hypervolume",
    "parse_budgets",
    "reference_point",
    "run_nsga2",
    "run_optuna",
    "run_random",
]
