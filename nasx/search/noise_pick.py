"""The noise-aware pick of a budget: the cheapest validated subnet whose accuracy the validation
split cannot tell from the best.

Rule, per budget: among the subnets validated this round that meet the budget (by prediction,
and on a measured device also by their measured latency), take the best validated accuracy
``best``; every such subnet with validated accuracy ``>= best - floor`` is a candidate, where
``floor`` is the validation noise floor (:func:`noise_floor`); the pick is the candidate with
the lowest latency on the budget's device (measured where measured, else predicted); ties:
higher validated accuracy, then the lower archive row (the earlier evaluation). When no
validated subnet meets the budget, the predicted pick stays (``rule`` says so).

The noise floor is read through :func:`noise_floor` alone, so a better measurement of it
(repeated or k-fold validation) changes one function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

RULE = ("the cheapest (lowest {latency}) of the validated subnets meeting the budget whose "
        "validated accuracy is within the noise floor ({floor:.2f} points) of the best "
        "validated ({best:.2f}%); ties: higher validated accuracy, then earlier evaluation")
RULE_NONE = ("no validated subnet meets the budget: the highest predicted accuracy that meets "
             "it (ties: lower latency)")


def noise_floor(accuracy_model: Any) -> float:
    """The validation noise floor (a fraction): the standard deviation of one subnet's
    validated accuracy around its expected accuracy, as the accuracy predictor measured it on
    its held-out subnets (``info.holdout.measurement.noise_sd``); 0 when it has none (then only
    exact ties with the best count as the best)."""
    info = getattr(accuracy_model, "info", None) or {}
    measurement = (info.get("holdout") or {}).get("measurement") or {}
    value = measurement.get("noise_sd")
    return float(value) if isinstance(value, int | float) and value > 0 else 0.0


@dataclass(frozen=True)
class NoisePick:
    """One budget's noise-aware pick.

    Attributes:
        row: the picked archive row (None: nothing evaluated meets the budget).
        rule: the rule applied, in words, with the floor and the best accuracy filled in.
        floor: the noise floor (a fraction).
        best_validated: the best validated accuracy among the feasible validated subnets
            (None when none was validated).
        candidates: the rows within the floor of the best, cheapest first.
        ties: rows with exactly the pick's latency besides the pick.
    """

    row: int | None
    rule: str
    floor: float
    best_validated: float | None
    candidates: tuple[int, ...]
    ties: tuple[int, ...]

    def as_json(self, index_of: Mapping[int, int]) -> dict[str, Any]:
        """The ``pick`` object of a ``pareto.json`` budget (rows as subnet indices)."""
        return {"rule": self.rule, "noise_floor": self.floor,
                "best_validated_accuracy": self.best_validated,
                "candidates": [index_of[r] for r in self.candidates if r in index_of],
                "ties": [index_of[r] for r in self.ties if r in index_of]}


def noise_aware_pick(validated_acc: Mapping[int, float], latency_ms: Mapping[int, float],
                     meets: np.ndarray, floor: float, fallback: int | None,
                     latency_name: str = "latency") -> NoisePick:
    """The pick of one budget (see the module docstring).

    Args:
        validated_acc: archive row -> validated accuracy (a fraction).
        latency_ms: archive row -> latency on the budget's device (ms; measured when measured).
        meets: ``(rows,)`` bool, whether each archive row meets the budget (a measured latency
            over the limit must already be folded in by the caller).
        floor: the noise floor (a fraction, >= 0).
        fallback: the predicted pick, kept when no validated subnet meets the budget.
        latency_name: how the rule names the latency (e.g. ``measured onnxruntime latency``).

    Example:
        >>> import numpy as np
        >>> p = noise_aware_pick({0: 0.90, 1: 0.895, 2: 0.80}, {0: 2.0, 1: 1.0, 2: 0.5},
        ...                      np.array([True, True, True]), 0.01, 0)
        >>> p.row, p.candidates
        (1, (1, 0))
    """
    rows = [r for r in validated_acc if bool(meets[r])]
    if not rows:
        return NoisePick(fallback, RULE_NONE, floor, None, (), ())
    best = max(validated_acc[r] for r in rows)
    # a float tolerance so that 1/3 - 1/3-ish rounding never drops the best itself
    within = [r for r in rows if validated_acc[r] >= best - floor - 1e-12]
    order = sorted(within, key=lambda r: (latency_ms[r], -validated_acc[r], r))
    pick = order[0]
    ties = tuple(r for r in order[1:] if latency_ms[r] == latency_ms[pick])
    rule = RULE.format(latency=latency_name, floor=100 * floor, best=100 * best)
    return NoisePick(pick, rule, floor, best, tuple(order), ties)


def pick_budgets(dr: Any, accuracy_model: Any, measured: str | None,
                 id_of: Callable[[int], str], log: Callable[[str], None]) -> None:
    """Replace each budget's predicted pick in ``dr`` (a validated
    :class:`~nasx.search.runner.DeviceRound`) by its noise-aware pick, record it in
    ``dr.picks`` and log it.

    Args:
        accuracy_model: the accuracy predictor of the round (its noise floor is used).
        measured: the runtime of ``dr.validated_ms`` (e.g. ``onnxruntime``) when the device's
            latency was measured, else None (predicted latency ranks the candidates).
        id_of: archive row -> arch id, for the log.
    """
    floor = noise_floor(accuracy_model)
    predicted_ms = dr.archive.cost("latency_ms")
    latency = {r: dr.validated_ms.get(r, float(predicted_ms[r])) for r in dr.validated_acc}
    name = (f"measured {measured} latency" if measured else
            f"{dr.archive.latency_label} latency")
    new = []
    for index, (budget, row) in enumerate(dr.budgets):
        meets = dr.archive.meets[:, index].copy()
        if budget.latency_ms is not None:  # a measured latency over the limit does not meet it
            for r, ms in dr.validated_ms.items():
                meets[r] &= ms <= budget.latency_ms
        pick = noise_aware_pick(dr.validated_acc, latency, meets, floor, row, name)
        dr.picks[budget.name] = pick
        new.append((budget, pick.row))
        head = f"round {dr.archive.round}, {dr.device}: budget '{budget.name}'"
        if pick.best_validated is None:
            log(f"{head}: no validated subnet meets it; the predicted pick "
                f"{'none' if row is None else id_of(row)} stays")
            continue
        assert pick.row is not None
        log(f"{head}: pick {id_of(pick.row)} (validated "
            f"{100 * dr.validated_acc[pick.row]:.2f}%, {latency[pick.row]:.3f} ms), the "
            f"cheapest of {len(pick.candidates)} validated within the noise floor "
            f"{100 * floor:.2f} points of the best {100 * pick.best_validated:.2f}%"
            + (f"; {len(pick.ties)} tie(s) at the same latency" if pick.ties else ""))
    dr.budgets = new
