"""Pareto fronts, each budget's best subnet, and ``search/pareto.json``.

``pareto.json`` (format 1)::

    {"nasx_pareto": 1, "run": "<run dir>",
     "subnets": [{"index": 0, "id": "<arch id>", "arch": {...}, "device": "<profile>",
                  "on_front": true,
                  "predicted": {"accuracy", "accuracy_std", "latency_ms", "sram_kb", "flash_kb",
                                "latency_label": "measured|estimate|analytic"},
                  "validated": {"accuracy": f, "loss": f | null, "latency_ms": f | null}
                               | null}, ...],
     "budgets": [{"name": "stm32f746: sram<=256KB, flash<=1MB", "device": "stm32f746",
                  "constraints": {"latency_ms", "sram_kb", "flash_kb"}, "best": <index> | null,
                  "pick": {"rule", "signal", "noise_floor", "best_validated_accuracy",
                           "candidates", "ties"; with "signal": "loss" also
                           "best_validated_loss", "se_multiple", "loss_gaps"}},
                 ...],
     "settings": {...}, "rounds": [...]}

``subnets`` holds, per device, its front (feasible, non-dominated on the objectives, by
increasing latency), then any budget's best subnet not on the front (``on_front: false``).
A budget's ``best`` is its noise-aware pick (:mod:`nasx.search.noise_pick`): the cheapest
validated subnet meeting it whose validation loss is within one paired standard error of the
lowest (the accuracy noise floor for records without per-sequence losses); ``pick`` says so
(``rule``, ``signal``, the best's figures, ``loss_gaps``, ``candidates`` and ``ties`` as subnet
indices). When no validated subnet meets it, the subnet
with the highest predicted accuracy that meets it (ties: lower latency). ``validated`` holds
the real validation accuracy (BatchNorm recalibrated) and, on ``host-cpu``, the measured
latency, where the predictor-in-the-loop evaluated the subnet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pymoo.util.nds.non_dominated_sorting import find_non_dominated

from nasx.runs.readers import PARETO_FORMAT_KEY, PARETO_FORMAT_VERSION
from nasx.search.archive import Archive
from nasx.search.budgets import Budget
from nasx.search_spaces import Arch

FORMAT_KEY, FORMAT_VERSION = PARETO_FORMAT_KEY, PARETO_FORMAT_VERSION  # defined once, there


def front_rows(archive: Archive) -> np.ndarray:
    """Rows of ``archive`` on its feasible front, sorted by latency then error."""
    if len(archive) == 0:
        return np.zeros(0, dtype=np.int64)
    feasible = np.flatnonzero(archive.feasible)
    if len(feasible) == 0:
        return np.zeros(0, dtype=np.int64)
    F = archive.objectives[feasible]
    rows = feasible[find_non_dominated(F)]
    F_rows = archive.objectives[rows]
    return rows[np.lexsort((F_rows[:, 0], F_rows[:, 1]))]


def best_row(archive: Archive, budget_index: int) -> int | None:
    """Row of the highest predicted accuracy meeting budget ``budget_index`` (ties: lower
    latency, then earlier), or ``None`` when no evaluated subnet meets it."""
    meets = archive.meets[:, budget_index]
    if not meets.any():
        return None
    rows = np.flatnonzero(meets)
    acc = archive.accuracy[rows]
    lat = archive.cost("latency_ms")[rows]
    order = np.lexsort((rows, lat, -acc))
    return int(rows[order[0]])


@dataclass
class SubnetEntry:
    """One subnet of ``pareto.json``."""

    id: str
    arch: Arch
    device: str
    on_front: bool
    predicted: dict[str, Any]
    validated: dict[str, Any] | None = None

    def as_json(self, index: int) -> dict[str, Any]:
        """The JSON object at position ``index``."""
        return {"index": index, "id": self.id, "arch": self.arch, "device": self.device,
                "on_front": self.on_front, "predicted": self.predicted,
                "validated": self.validated}


def predicted_of(archive: Archive, row: int) -> dict[str, Any]:
    """The ``predicted`` object of archive row ``row``."""
    return {"accuracy": float(archive.accuracy[row]),
            "accuracy_std": float(archive.accuracy_std[row]),
            "latency_ms": float(archive.cost("latency_ms")[row]),
            "sram_kb": float(archive.cost("sram_kb")[row]),
            "flash_kb": float(archive.cost("flash_kb")[row]),
            "latency_label": archive.latency_label}


def pareto_document(run_dir: Path, subnets: Sequence[SubnetEntry],
                    budgets: Sequence[tuple[Budget, int | None]], *,
                    settings: dict[str, Any], rounds: Sequence[dict[str, Any]],
                    picks: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ``pareto.json`` object (see the module docstring); ``picks``: budget name -> how
    its ``best`` was picked (:meth:`~nasx.search.noise_pick.NoisePick.as_json`)."""
    picks = picks or {}
    return {FORMAT_KEY: FORMAT_VERSION, "run": str(run_dir),
            "subnets": [s.as_json(i) for i, s in enumerate(subnets)],
            "budgets": [{"name": b.name, "device": b.device, "constraints": b.constraints(),
                         "best": best, **({"pick": picks[b.name]} if b.name in picks else {})}
                        for b, best in budgets],
            "settings": settings, "rounds": list(rounds)}
