"""The noise-aware pick of a budget: the cheapest validated subnet that the validation split
cannot tell from the best.

Two rules, per budget, over the subnets validated this round that meet the budget (by
prediction, and on a measured device also by their measured latency):

- **loss** (the default, when every such subnet has per-sequence validation losses): the best
  is the lowest mean validation loss (cross-entropy); a subnet is a candidate when its mean loss
  exceeds the best's by at most ``se_multiple`` standard errors of that difference, paired over
  the validation sequences (``sd(loss_r - loss_best) / sqrt(n)``: both subnets saw the same
  sequences, so the sequences' own difficulty cancels). The loss ranks subnets by test accuracy
  better than the accuracy does on every suite data set where the split ranks them at all
  (BENCHMARKS.md, "Which validation signal ranks subnets"); the paired difference is the
  noise of the comparison itself.
- **accuracy** (records without per-sequence losses, e.g. written by an older nasx): the best
  validated accuracy ``best``; every subnet with validated accuracy ``>= best - floor`` is a
  candidate, where ``floor`` is the validation noise floor (:func:`noise_floor`).

The pick is the candidate with the lowest latency on the budget's device (measured where
measured, else predicted); ties: the better signal (lower loss, or higher accuracy), then the
lower archive row (the earlier evaluation). When no validated subnet meets the budget, the
predicted pick stays (``rule`` says so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RULE = ("the cheapest (lowest {latency}) of the validated subnets meeting the budget whose "
        "validated accuracy is within the noise floor ({floor:.2f} points) of the best "
        "validated ({best:.2f}%); ties: higher validated accuracy, then earlier evaluation")
LOSS_RULE = ("the cheapest (lowest {latency}) of the validated subnets meeting the budget whose "
             "mean validation loss is within {k:g} standard error(s) of the paired difference "
             "from the lowest ({best:.4f}); ties: lower loss, then earlier evaluation")
SE_MULTIPLE = 1.0  # the one-standard-error rule
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
        signal: ``"loss"`` or ``"accuracy"``, the rule's signal.
        best_loss: the lowest mean validation loss (loss rule; else None).
        se_multiple: how many standard errors the loss rule allows.
        gaps: loss rule: every feasible validated row -> ``(mean loss - best's, standard error
            of that difference)``.
    """

    row: int | None
    rule: str
    floor: float
    best_validated: float | None
    candidates: tuple[int, ...]
    ties: tuple[int, ...]
    signal: str = "accuracy"
    best_loss: float | None = None
    se_multiple: float = SE_MULTIPLE
    gaps: Mapping[int, tuple[float, float]] = field(default_factory=dict)

    def as_json(self, index_of: Mapping[int, int]) -> dict[str, Any]:
        """The ``pick`` object of a ``pareto.json`` budget (rows as subnet indices)."""
        out: dict[str, Any] = {
            "rule": self.rule, "signal": self.signal, "noise_floor": self.floor,
            "best_validated_accuracy": self.best_validated,
            "candidates": [index_of[r] for r in self.candidates if r in index_of],
            "ties": [index_of[r] for r in self.ties if r in index_of]}
        if self.signal == "loss":
            out.update(best_validated_loss=self.best_loss, se_multiple=self.se_multiple,
                       loss_gaps=[{"index": index_of[r], "gap": g, "se": se}
                                  for r, (g, se) in self.gaps.items() if r in index_of])
        return out


def _cheapest(within: list[int], latency_ms: Mapping[int, float], worse: Callable[[int], float]
              ) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
    """The candidates ``within`` cheapest first (ties: lower ``worse``, then the earlier row),
    the pick, and the rows at exactly the pick's latency besides it."""
    order = sorted(within, key=lambda r: (latency_ms[r], worse(r), r))
    ties = tuple(r for r in order[1:] if latency_ms[r] == latency_ms[order[0]])
    return tuple(order), order[0], ties


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
    order, pick, ties = _cheapest(within, latency_ms, lambda r: -validated_acc[r])
    rule = RULE.format(latency=latency_name, floor=100 * floor, best=100 * best)
    return NoisePick(pick, rule, floor, best, order, ties)


def loss_pick(losses: Mapping[int, np.ndarray], mean_loss: Mapping[int, float],
              validated_acc: Mapping[int, float], latency_ms: Mapping[int, float],
              meets: np.ndarray, fallback: int | None,
              se_multiple: float = SE_MULTIPLE, latency_name: str = "latency",
              floor: float = 0.0) -> NoisePick:
    """The pick of one budget by the loss rule (see the module docstring).

    Args:
        losses: archive row -> per-sequence validation losses ``(n,)`` (the same ``n``
            sequences, in the same order, for every row; they give the standard errors).
        mean_loss: archive row -> mean validation loss (ranks the rows; the gaps).
        validated_acc: archive row -> validated accuracy (reported, not used to rank).
        latency_ms: archive row -> latency on the budget's device.
        meets: ``(rows,)`` bool, whether each archive row meets the budget.
        fallback: the predicted pick, kept when no validated subnet meets the budget.
        se_multiple: standard errors of the paired loss difference a candidate may be above
            the lowest loss.
        floor: the accuracy noise floor, reported only.

    Example:
        >>> import numpy as np
        >>> per = {0: np.array([0.1, 0.2, 0.3]), 1: np.array([0.2, 0.2, 0.3]),
        ...        2: np.array([1.0, 2.0, 1.5])}
        >>> mean = {r: float(v.mean()) for r, v in per.items()}
        >>> p = loss_pick(per, mean, {0: 1.0, 1: 1.0, 2: 0.3}, {0: 2.0, 1: 1.0, 2: 0.5},
        ...               np.ones(3, dtype=bool), 0)
        >>> p.row, p.candidates
        (1, (1, 0))
    """
    rows = [r for r in losses if bool(meets[r])]
    if not rows:
        return NoisePick(fallback, RULE_NONE, floor, None, (), (), "loss", None, se_multiple)
    mean = {r: float(mean_loss[r]) for r in rows}
    best = min(rows, key=lambda r: (mean[r], r))
    gaps = {}
    for r in rows:
        diff = losses[r].astype(np.float64) - losses[best]  # (n,)
        se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else 0.0
        gaps[r] = (mean[r] - mean[best], se)
    within = [r for r in rows if gaps[r][0] <= se_multiple * gaps[r][1] + 1e-12]
    order, pick, ties = _cheapest(within, latency_ms, lambda r: mean[r])
    rule = LOSS_RULE.format(latency=latency_name, k=se_multiple, best=mean[best])
    return NoisePick(pick, rule, floor, validated_acc[best], order, ties, "loss",
                     mean[best], se_multiple, gaps)


def pick_budgets(dr: Any, accuracy_model: Any, measured: str | None,
                 id_of: Callable[[int], str], log: Callable[[str], None],
                 se_multiple: float = SE_MULTIPLE) -> None:
    """Replace each budget's predicted pick in ``dr`` (a validated
    :class:`~nasx.search.runner.DeviceRound`) by its noise-aware pick, record it in
    ``dr.picks`` and log it: the loss rule when every validated subnet of ``dr`` has
    per-sequence losses on the same sequences (``dr.validated_losses``), else the accuracy
    rule.

    Args:
        accuracy_model: the accuracy predictor of the round (its noise floor is used).
        measured: the runtime of ``dr.validated_ms`` (e.g. ``onnxruntime``) when the device's
            latency was measured, else None (predicted latency ranks the candidates).
        id_of: archive row -> arch id, for the log.
        se_multiple: the loss rule's standard errors.
    """
    floor = noise_floor(accuracy_model)
    predicted_ms = dr.archive.cost("latency_ms")
    latency = {r: dr.validated_ms.get(r, float(predicted_ms[r])) for r in dr.validated_acc}
    name = (f"measured {measured} latency" if measured else
            f"{dr.archive.latency_label} latency")
    per_seq = {r: dr.validated_losses.get(r) for r in dr.validated_acc}
    by_loss = bool(per_seq) and all(v is not None for v in per_seq.values()) \
        and len({v.size for v in per_seq.values()}) == 1
    new = []
    for index, (budget, row) in enumerate(dr.budgets):
        meets = dr.archive.meets[:, index].copy()
        if budget.latency_ms is not None:  # a measured latency over the limit does not meet it
            for r, ms in dr.validated_ms.items():
                meets[r] &= ms <= budget.latency_ms
        pick = (loss_pick(per_seq, dr.validated_loss, dr.validated_acc, latency, meets, row,
                          se_multiple, name, floor) if by_loss else
                noise_aware_pick(dr.validated_acc, latency, meets, floor, row, name))
        dr.picks[budget.name] = pick
        new.append((budget, pick.row))
        head = f"round {dr.archive.round}, {dr.device}: budget '{budget.name}'"
        if pick.best_validated is None:
            log(f"{head}: no validated subnet meets it; the predicted pick "
                f"{'none' if row is None else id_of(row)} stays")
            continue
        assert pick.row is not None
        within = (f"within {se_multiple:g} standard error(s) of the lowest validation loss "
                  f"{pick.best_loss:.4f}" if pick.signal == "loss" else
                  f"within the noise floor {100 * floor:.2f} points of the best "
                  f"{100 * pick.best_validated:.2f}%")
        log(f"{head}: pick {id_of(pick.row)} (validated "
            f"{100 * dr.validated_acc[pick.row]:.2f}%, {latency[pick.row]:.3f} ms), the "
            f"cheapest of {len(pick.candidates)} validated {within}"
            + (f"; {len(pick.ties)} tie(s) at the same latency" if pick.ties else ""))
    dr.budgets = new
