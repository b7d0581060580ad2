"""How far a search's predicted accuracies were from the validated ones (``pareto.json``'s
``rounds``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def gap_summary(ids: Sequence[str], predicted: Sequence[float], validated: Sequence[float],
                model: Any) -> dict[str, Any]:
    """How the predicted accuracies of validated subnets compare with the validated ones.

    Args:
        ids: the subnets' arch ids.
        predicted: the accuracies ``model`` predicted for them (fractions).
        validated: their validated accuracies.
        model: the accuracy predictor that made the predictions; its ``info`` may hold
            ``train_ids`` (the subnets it was fitted on) and ``holdout.measurement.noise_sd``.

    Returns:
        ``mean_abs_gap`` (mean ``|predicted - validated|``), ``mean_gap`` (mean ``predicted -
        validated``: > 0 when the predictor flatters the front), ``unseen`` and
        ``mean_abs_gap_unseen`` (the same over the subnets the predictor was not fitted on;
        ``None`` when it does not say which it was fitted on, or when there are none) and
        ``noise_abs_gap`` (the mean ``|gap|`` a perfect predictor of expected accuracy would
        still show because the validation split measures each subnet with noise:
        ``sqrt(2/pi)`` times the noise standard deviation saved with the predictor; ``None``
        when it has none). Fractions, ``None`` for an empty set.
    """
    diff = np.asarray(predicted, dtype=np.float64) - np.asarray(validated, dtype=np.float64)
    info = getattr(model, "info", None) or {}
    measurement = (info.get("holdout") or {}).get("measurement") or {}
    noise = measurement.get("noise_sd")
    seen = None if info.get("train_ids") is None else set(info["train_ids"])
    unseen = None if seen is None else np.array([i not in seen for i in ids], dtype=bool)
    n_unseen = None if unseen is None else int(unseen.sum())

    def mean(v: np.ndarray) -> float | None:
        return float(np.mean(v)) if len(v) else None

    return {"mean_abs_gap": mean(np.abs(diff)), "mean_gap": mean(diff), "unseen": n_unseen,
            "mean_abs_gap_unseen": None if not n_unseen else mean(np.abs(diff[unseen])),
            "noise_abs_gap": None if noise is None else math.sqrt(2 / math.pi) * float(noise)}
