"""One device's search task: objectives ``F`` and constraints ``G <= 0`` of a batch of genomes.

Objectives (all minimised): predicted error ``1 - accuracy``, predicted latency in ms on the
device, and optionally SRAM and flash in KB.

Constraints, two columns (pymoo's ``G``, feasible when every column is ``<= 0``):

- ``budget``: the device's budgets as one disjunction: ``min over budgets of max over the
  budget's limits of (value / limit - 1)``, so a genome is feasible when it meets at least one
  of the device's budgets (0 when the device has none). The front of a device with several
  budgets therefore covers all of them; each budget's best subnet is picked afterwards.
- ``bits``: 1 when some layer uses bit-widths the device does not run, else 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nasx.search.budgets import Budget
from nasx.search.objectives import AccuracyModel, DeviceCosts, DeviceObjective

OPTIONAL_OBJECTIVES: tuple[str, ...] = ("sram", "flash")
CONSTRAINT_NAMES: tuple[str, ...] = ("budget", "bits")


@dataclass(frozen=True)
class Evaluation:
    """A batch of evaluated genomes (arrays of length ``n``)."""

    genomes: np.ndarray  # (n, G) int64, canonical
    accuracy: np.ndarray  # (n,) predicted validation accuracy (fraction)
    accuracy_std: np.ndarray  # (n,)
    costs: DeviceCosts
    F: np.ndarray  # (n, n_obj) objectives, minimised
    G: np.ndarray  # (n, 2) constraints, feasible where all <= 0
    meets: np.ndarray  # (n, n_budgets) bool: genome meets budget b (and the device's bits)

    @property
    def feasible(self) -> np.ndarray:
        """``(n,)`` bool: every constraint ``<= 0``."""
        return (self.G <= 0).all(axis=1)

    def __len__(self) -> int:
        return len(self.genomes)


def budget_violation(costs: DeviceCosts, budgets: Sequence[Budget]) -> np.ndarray:
    """``(n, len(budgets))``: per budget, ``max over its limits of (value / limit - 1)``."""
    n = len(costs.latency_ms)
    out = np.empty((n, len(budgets)))
    for b, budget in enumerate(budgets):
        out[:, b] = np.max([costs.metric(m) / limit - 1.0 for m, limit in budget.limits().items()],
                           axis=0)
    return out


def constraint_matrix(costs: DeviceCosts, budgets: Sequence[Budget]) -> np.ndarray:
    """``G`` ``(n, 2)``: the budget disjunction and the bit-width support (module docstring)."""
    n = len(costs.latency_ms)
    G = np.zeros((n, len(CONSTRAINT_NAMES)))
    if budgets:
        G[:, 0] = budget_violation(costs, budgets).min(axis=1)
    G[:, 1] = np.where(costs.supported, 0.0, 1.0)
    return G


class SearchTask:
    """Evaluates genomes for one device: accuracy model + device costs + the device's budgets.

    Args:
        accuracy: the accuracy model.
        device: the device's cost/latency objective.
        budgets: the budgets of this device (may be empty).
        objectives: extra objectives beyond error and latency, from :data:`OPTIONAL_OBJECTIVES`.
    """

    def __init__(self, accuracy: AccuracyModel, device: DeviceObjective,
                 budgets: Sequence[Budget] = (), objectives: Sequence[str] = ()) -> None:
        wrong = [b.name for b in budgets if b.device != device.name]
        if wrong:
            raise ValueError(f"budgets {wrong} are not for device {device.name}")
        bad = [o for o in objectives if o not in OPTIONAL_OBJECTIVES]
        if bad:
            raise ValueError(f"unknown objectives {bad} (allowed: {OPTIONAL_OBJECTIVES})")
        self.accuracy, self.device = accuracy, device
        self.budgets = list(budgets)
        self.extra_objectives = tuple(objectives)

    @property
    def objective_names(self) -> tuple[str, ...]:
        """Names of the columns of ``F``: ``error``, ``latency_ms`` and the extras in KB."""
        return ("error", "latency_ms", *(f"{o}_kb" for o in self.extra_objectives))

    @property
    def n_obj(self) -> int:
        """Number of objectives."""
        return len(self.objective_names)

    def evaluate(self, genomes: np.ndarray) -> Evaluation:
        """Objectives and constraints of canonical integer genomes ``(n, G)``."""
        g = np.asarray(genomes, dtype=np.int64)
        mean, std = self.accuracy.predict(g)
        mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        std = np.asarray(std, dtype=np.float64).reshape(-1)
        costs = self.device.costs(g)
        cols = [1.0 - mean, costs.latency_ms]
        cols += [costs.metric(o) for o in self.extra_objectives]
        F = np.column_stack(cols)
        G = constraint_matrix(costs, self.budgets)
        if self.budgets:
            meets = (budget_violation(costs, self.budgets) <= 0) & costs.supported[:, None]
        else:
            meets = np.zeros((len(g), 0), dtype=bool)
        return Evaluation(genomes=g, accuracy=mean, accuracy_std=std, costs=costs, F=F, G=G,
                          meets=meets)
