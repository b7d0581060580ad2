"""How well predictions rank and fit true values: Kendall tau, Spearman rho, RMSE."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def rank_metrics(predicted: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """``kendall_tau`` (tau-b, ties counted), ``spearman`` and ``rmse`` of ``predicted`` against
    ``true`` (both ``(n,)``); a correlation is NaN when either side is constant or ``n < 2``."""
    p = np.asarray(predicted, dtype=np.float64)
    t = np.asarray(true, dtype=np.float64)
    if p.shape != t.shape or p.ndim != 1:
        raise ValueError(f"predicted {p.shape} and true {t.shape} must be equal 1-D shapes")
    rmse = float(np.sqrt(np.mean((p - t) ** 2))) if p.size else math.nan
    if p.size < 2 or np.ptp(p) == 0 or np.ptp(t) == 0:
        return {"kendall_tau": math.nan, "spearman": math.nan, "rmse": rmse}
    tau = float(stats.kendalltau(p, t).statistic)
    rho = float(stats.spearmanr(p, t).statistic)
    return {"kendall_tau": tau, "spearman": rho, "rmse": rmse}
