"""Hardware budgets: upper limits on latency, SRAM and flash per device.

A budget spec lists budgets separated by ``;``, each ``<device>: <limit>, <limit>, ...`` with
a limit ``<metric><=<number><unit>``::

    stm32f746: sram<=256KB, flash<=1MB; host-cpu: latency<=2ms; h100: latency<=200us

Metrics and units: ``latency`` in ``ms`` or ``us``; ``sram`` and ``flash`` in ``KB`` or ``MB``
(binary: 1 KB = 1024 bytes, 1 MB = 1024 KB, as MCU datasheets count). Units are
case-insensitive. ``sram`` is the model's peak activation/state SRAM plus the runtime's
engine SRAM, ``flash`` its packed weights plus the engine's flash (see ``nasx cost``).
A device may carry several budgets; every malformed spec is one :class:`BudgetError` line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from nasx.errors import NasxError

METRICS: tuple[str, ...] = ("latency", "sram", "flash")
# unit (lower case) -> (metric family, factor to the budget's unit: ms for latency, KB for memory)
_UNITS: dict[str, tuple[str, float]] = {
    "ms": ("time", 1.0), "us": ("time", 1e-3),
    "kb": ("memory", 1.0), "mb": ("memory", 1024.0),
}
_FAMILY = {"latency": "time", "sram": "memory", "flash": "memory"}
_UNIT_HELP = {"time": "ms or us", "memory": "KB or MB"}
_LIMIT = re.compile(r"^([A-Za-z_]+)\s*(<=|>=|<|>|==|=)\s*(.*?)\s*([A-Za-z]*)$")
EXAMPLE = "stm32f746: sram<=256KB, flash<=1MB; host-cpu: latency<=2ms"


class BudgetError(NasxError):
    """A malformed budget spec or budget flag."""


@dataclass(frozen=True)
class Budget:
    """One budget: a device and its limits (``None``: no limit on that metric).

    ``name`` is the budget as text, e.g. ``stm32f746: sram<=256KB, flash<=1MB``; it names the
    budget in ``pareto.json`` and for ``nasx export --pick``.
    """

    name: str
    device: str
    latency_ms: float | None = None
    sram_kb: float | None = None
    flash_kb: float | None = None

    def limits(self) -> dict[str, float]:
        """The limits this budget sets, ``{metric: value}`` in ms / KB, in METRICS order."""
        values = {"latency": self.latency_ms, "sram": self.sram_kb, "flash": self.flash_kb}
        return {m: v for m, v in values.items() if v is not None}

    def constraints(self) -> dict[str, float | None]:
        """``{"latency_ms", "sram_kb", "flash_kb"}`` as ``pareto.json`` writes them."""
        return {"latency_ms": self.latency_ms, "sram_kb": self.sram_kb,
                "flash_kb": self.flash_kb}


def _number_text(value: float) -> str:
    return f"{value:g}"


def _parse_limit(text: str, budget_text: str) -> tuple[str, float, str]:
    """``(metric, value in ms/KB, canonical text)`` of one limit like ``sram<=256KB``."""
    m = _LIMIT.match(text)
    if not m:
        raise BudgetError(f"budget '{budget_text}': limit '{text}' is not of the form "
                          "<metric><=<number><unit>, e.g. sram<=256KB")
    metric, op, number, unit = m.group(1).lower(), m.group(2), m.group(3), m.group(4)
    if metric not in METRICS:
        raise BudgetError(f"budget '{budget_text}': unknown metric '{m.group(1)}' in '{text}' "
                          f"(allowed: {', '.join(METRICS)})")
    if op != "<=":
        raise BudgetError(f"budget '{budget_text}': '{text}' uses '{op}'; a budget is an upper "
                          f"limit, write {metric}<=<number><unit>")
    family = _FAMILY[metric]
    if not number:
        raise BudgetError(f"budget '{budget_text}': '{text}': '{unit}' is not a number followed "
                          f"by a unit, e.g. {metric}<={'2ms' if family == 'time' else '256KB'}")
    try:
        value = float(number)
    except ValueError:
        raise BudgetError(f"budget '{budget_text}': '{text}': '{number}' is not a number"
                          ) from None
    if not unit:
        raise BudgetError(f"budget '{budget_text}': '{text}' has no unit; give "
                          f"{_UNIT_HELP[family]}, e.g. {metric}<={number}"
                          f"{'ms' if family == 'time' else 'KB'}")
    known = _UNITS.get(unit.lower())
    if known is None or known[0] != family:
        raise BudgetError(f"budget '{budget_text}': '{text}': unit '{unit}' does not fit "
                          f"{metric} (use {_UNIT_HELP[family]})")
    if not math.isfinite(value) or value <= 0:
        raise BudgetError(f"budget '{budget_text}': '{text}': the limit must be a positive "
                          "finite number")
    canonical_unit = {"ms": "ms", "us": "us", "kb": "KB", "mb": "MB"}[unit.lower()]
    return metric, value * known[1], f"{metric}<={_number_text(value)}{canonical_unit}"


def parse_budget(text: str) -> Budget:
    """One budget ``<device>: <limit>, ...`` (see the module docstring).

    Raises:
        BudgetError: a malformed budget, naming the part that is wrong and the fix.
    """
    stripped = text.strip()
    if ":" not in stripped:
        raise BudgetError(f"budget '{stripped}': expected '<device>: <limit>, ...', "
                          f"e.g. '{EXAMPLE.split(';')[0]}'")
    device, _, rest = stripped.partition(":")
    device = device.strip()
    if not device:
        raise BudgetError(f"budget '{stripped}': no device before ':'; name a device profile "
                          "(see `nasx devices`)")
    parts = [p.strip() for p in rest.split(",")]
    if all(not p for p in parts):
        raise BudgetError(f"budget '{stripped}': no limits after '{device}:'; give e.g. "
                          "sram<=256KB, flash<=1MB or latency<=2ms")
    limits: dict[str, tuple[float, str]] = {}
    for part in parts:
        if not part:
            raise BudgetError(f"budget '{stripped}': empty limit between commas")
        metric, value, canonical = _parse_limit(part, stripped)
        if metric in limits:
            raise BudgetError(f"budget '{stripped}': {metric} is limited twice; keep one limit "
                              "per metric")
        limits[metric] = (value, canonical)
    ordered = [m for m in METRICS if m in limits]
    name = f"{device}: " + ", ".join(limits[m][1] for m in ordered)
    return Budget(name=name, device=device,
                  latency_ms=limits["latency"][0] if "latency" in limits else None,
                  sram_kb=limits["sram"][0] if "sram" in limits else None,
                  flash_kb=limits["flash"][0] if "flash" in limits else None)


def parse_budgets(spec: str) -> list[Budget]:
    """Every budget of ``spec`` (``;``-separated; empty parts after a trailing ``;`` ignored).

    Raises:
        BudgetError: an empty spec, a malformed budget, or the same budget twice.
    """
    parts = [p for p in (s.strip() for s in spec.split(";")) if p]
    if not parts:
        raise BudgetError(f"--budgets is empty; give e.g. '{EXAMPLE}'")
    budgets = [parse_budget(p) for p in parts]
    _check_unique(budgets)
    return budgets


def budget_from_flags(device: str, *, max_latency_ms: float | None = None,
                      max_sram_kb: float | None = None,
                      max_flash_kb: float | None = None) -> Budget | None:
    """The budget of ``--device D --max-latency-ms X --max-sram-kb Y --max-flash-kb Z``, or
    ``None`` when no limit is given (the device is searched without a budget).

    Raises:
        BudgetError: a limit that is not a positive finite number.
    """
    flags = (("latency", "--max-latency-ms", max_latency_ms, "ms"),
             ("sram", "--max-sram-kb", max_sram_kb, "KB"),
             ("flash", "--max-flash-kb", max_flash_kb, "KB"))
    parts = []
    for metric, flag, value, unit in flags:
        if value is None:
            continue
        if not math.isfinite(value) or value <= 0:
            raise BudgetError(f"{flag} {_number_text(value)}: give a positive finite number")
        parts.append(f"{metric}<={_number_text(value)}{unit}")
    if not parts:
        return None
    return parse_budget(f"{device}: {', '.join(parts)}")


def _check_unique(budgets: list[Budget]) -> None:
    seen: set[tuple[str, float | None, float | None, float | None]] = set()
    for b in budgets:
        key = (b.device, b.latency_ms, b.sram_kb, b.flash_kb)
        if key in seen:
            raise BudgetError(f"budget '{b.name}' is given twice; drop one")
        seen.add(key)


def collect_budgets(devices: list[str], budgets_spec: str | None, *,
                    max_latency_ms: float | None = None, max_sram_kb: float | None = None,
                    max_flash_kb: float | None = None) -> tuple[list[str], list[Budget]]:
    """The devices to search and the budgets, from the ``nasx search`` flags.

    ``--device`` (repeatable) with the ``--max-*`` flags forms one budget per named device;
    ``--budgets`` adds its budgets (and their devices). Devices keep their first-mention order.

    Raises:
        BudgetError: no device at all, ``--max-*`` without ``--device``, or a malformed spec.
    """
    flags_given = any(v is not None for v in (max_latency_ms, max_sram_kb, max_flash_kb))
    if flags_given and not devices:
        raise BudgetError("--max-latency-ms/--max-sram-kb/--max-flash-kb need --device; or "
                          "write the limits into --budgets")
    budgets: list[Budget] = []
    for d in devices:
        b = budget_from_flags(d, max_latency_ms=max_latency_ms, max_sram_kb=max_sram_kb,
                              max_flash_kb=max_flash_kb)
        if b is not None:
            budgets.append(b)
    if budgets_spec is not None:
        budgets += parse_budgets(budgets_spec)
    if not devices and not budgets:
        raise BudgetError(f"no device to search for; give --device NAME or --budgets "
                          f"'{EXAMPLE}'")
    _check_unique(budgets)
    ordered: list[str] = []
    for d in [*devices, *(b.device for b in budgets)]:
        if d not in ordered:
            ordered.append(d)
    return ordered, budgets
