"""Refuse budgets no subnet can meet, before any search runs.

For every limit of every budget, the smallest value of that metric over the whole space on the
budget's device (:func:`~nasx.search.cheapest.extreme_cost`, exact for the analytic costs;
each metric minimised on its own, since the fastest subnet is rarely the one with the least
SRAM). With a measured latency predictor that is a per-unit table (``LatencyPredictor``) the
minimum is exact too; with any other latency model it is the best of a seeded sample, and the
message says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nasx.errors import NasxError
from nasx.search.budgets import Budget
from nasx.search.cheapest import METRIC_UNITS
from nasx.search.objectives import DeviceObjective


class ImpossibleBudgetError(NasxError):
    """A budget that even the smallest subnet of the space does not meet."""


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _ceil_text(value: float) -> str:
    """``value`` rounded UP to 6 significant digits (a limit that admits it)."""
    text = _fmt(value)
    if float(text) >= value:
        return text
    exponent = int(np.floor(np.log10(abs(value)))) - 5
    return _fmt((np.floor(value / 10.0**exponent) + 1) * 10.0**exponent)


def check_budgets(budgets: Sequence[Budget], devices: Mapping[str, DeviceObjective], *,
                  space_name: str, mode: str, length: int) -> None:
    """Raise on the first budget whose limit is below the smallest achievable value.

    Raises:
        ImpossibleBudgetError: naming the budget, the metric, the smallest achievable value on
            that device and the fix.
    """
    for b in budgets:
        dev = devices[b.device]
        limits = b.limits()
        for metric, limit in limits.items():
            best = dev.extreme(metric)
            value, unit = best.value, METRIC_UNITS[metric]
            if np.isnan(value):
                raise ImpossibleBudgetError(
                    f"budget '{b.name}': no subnet of {space_name} runs on {b.device} (the "
                    "device supports none of the space's bit-widths); pick another device")
            if value > limit:
                note = "" if best.exact else " (best of a sample of 5,001 subnets)"
                raise ImpossibleBudgetError(
                    f"budget '{b.name}' cannot be met: the smallest {metric} of any subnet of "
                    f"{space_name} on {b.device} is {_fmt(value)} {unit}{note} ({mode}, length "
                    f"{length}), above the limit {_fmt(limit)} {unit}; raise the limit to at "
                    f"least {_ceil_text(value)} {unit}")
