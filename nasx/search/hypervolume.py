"""Hypervolume of a search's feasible points against a fixed reference point.

Objectives are divided by the reference point first, so the hypervolume is a fraction of the
box ``[0, ref]`` (at most 1) and runs on one device can be compared at equal evaluation counts.
The reference point is fixed per device: error 1.0 and, per cost objective, the LARGEST value
over the whole space (:meth:`DeviceObjective.extreme`, exact for the analytic costs and the
measured per-unit latency table; 1.1 x the largest of a sample otherwise). pymoo's ``HV``
indicator does the computation.
"""

from __future__ import annotations

import numpy as np
from pymoo.indicators.hv import HV

from nasx.search.task import SearchTask

_METRIC_OF = {"latency_ms": "latency", "sram_kb": "sram", "flash_kb": "flash"}


def reference_point(task: SearchTask, seed: int = 0) -> np.ndarray:
    """The fixed reference point ``(n_obj,)`` of ``task`` (see the module docstring)."""
    ref = [1.0]
    for name in task.objective_names[1:]:
        worst = task.device.extreme(_METRIC_OF[name], largest=True, seed=seed)
        ref.append(float(worst.value) * (1.0 if worst.exact else 1.1))
    return np.array(ref)


def hypervolume(F: np.ndarray, feasible: np.ndarray, ref: np.ndarray) -> float:
    """Normalised hypervolume of the feasible rows of ``F (n, n_obj)`` (0 when none)."""
    pts = np.asarray(F)[np.asarray(feasible, dtype=bool)] / ref
    pts = pts[(pts < 1.0).all(axis=1)]
    if len(pts) == 0:
        return 0.0
    return float(HV(ref_point=np.ones(len(ref)))(pts))
