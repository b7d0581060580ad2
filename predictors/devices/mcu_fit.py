"""The MCU cost model fitted to what the nasx C runtime measures on an emulated Cortex-M7.

``nasx profile --device stm32f746 --run R`` builds sampled subnets of the run for the
Cortex-M7, runs them on QEMU (:mod:`nasx.export.mcu.mcu_profile`) and fits, by least squares
over the subnets, three lines from the analytic model to the measurement:

- flash: ``measured = a * weight_bytes + b`` (``.text + .rodata + .data`` of the ELF less the
  golden vectors: the constant is the runtime, start-up code and the C library);
- SRAM: ``measured = a * peak_sram_bytes + b`` (``.data + .bss`` + stack high-water; the peak
  is the C runtime's arena, so ``a`` is about 1 and ``b`` the stack and start-up state);
- latency: ``instructions = a * analytic cycles + b`` (analytic latency x clock), then
  ``latency = instructions / clock``: QEMU counts executed instructions, not cycles; **one
  cycle per instruction is assumed** (a real Cortex-M7 dual-issues, waits on flash and caches).

The fit is stored in the device profile (key ``fit``, written to ``R/predictors/
device-<name>.yaml``); :class:`~nasx.predictors.CostModel` applies it in whole-sequence mode
and labels the latency :data:`LABEL`. It holds for the data shape it was measured with
(``channels``, ``classes``, ``length``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

MEASURED = "qemu cortex-m7 instructions"
ASSUMED = "1 cycle per executed instruction at the profile clock"
LABEL = f"measured: {MEASURED} (fitted; assumed {ASSUMED})"
KEYS = ("flash_scale", "flash_offset_bytes", "sram_scale", "sram_offset_bytes",
        "latency_scale", "latency_offset_s", "samples", "channels", "classes", "length",
        "measured", "assumed")
_EXACT = ("samples", "channels", "classes", "length", "measured", "assumed")


def fitted_profile_file(folder: Path, device: str) -> Path:
    """Where the fitted profile of ``device`` goes in a run's ``predictors/`` folder."""
    return folder / f"device-{device}.yaml"


@dataclass(frozen=True)
class McuFit:
    """Three fitted lines (see the module docstring) and what they were measured on."""

    flash_scale: float
    flash_offset_bytes: float
    sram_scale: float
    sram_offset_bytes: float
    latency_scale: float
    latency_offset_s: float
    samples: int
    channels: int
    classes: int
    length: int
    measured: str = MEASURED
    assumed: str = ASSUMED

    def flash(self, weight_bytes: int) -> int:
        """Fitted flash bytes of a subnet with ``weight_bytes`` of weights."""
        return max(round(self.flash_scale * weight_bytes + self.flash_offset_bytes), 0)

    def sram(self, peak_bytes: int) -> int:
        """Fitted SRAM bytes of a subnet whose runtime arena peaks at ``peak_bytes``."""
        return max(round(self.sram_scale * peak_bytes + self.sram_offset_bytes), 0)

    def latency_s(self, analytic_s: float) -> float:
        """Fitted latency (instructions / clock) of an analytic latency."""
        return max(self.latency_scale * analytic_s + self.latency_offset_s, 0.0)

    def matches(self, channels: int, classes: int, length: int) -> bool:
        """Whether the fit was measured for this data shape."""
        return (self.channels, self.classes, self.length) == (channels, classes, length)


def _line(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Least-squares ``y = a x + b``; with one point, equal ``x`` or a slope <= 0 (the costs
    must keep their order) ``y = a x + b`` with ``a`` the ratio of the means."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xs) >= 2 and float(np.ptp(xs)) > 0.0:
        a, b = np.polyfit(xs, ys, 1)
        if a > 0:
            return float(a), float(b)
    return float(np.mean(ys) / max(float(np.mean(xs)), 1e-30)), 0.0


def fit_mcu(rows: Sequence[Mapping[str, Any]], clock_hz: float, channels: int, classes: int,
            length: int) -> McuFit:
    """Fit the three lines to measured ``rows`` (keys ``cost_weight_bytes``,
    ``cost_peak_sram_bytes``, ``cost_latency_s``, ``flash_bytes``, ``sram_bytes``,
    ``instructions``).

    Raises:
        ValueError: no rows.
    """
    if not rows:
        raise ValueError("no measured subnets to fit")
    fa, fb = _line([r["cost_weight_bytes"] for r in rows], [r["flash_bytes"] for r in rows])
    sa, sb = _line([r["cost_peak_sram_bytes"] for r in rows], [r["sram_bytes"] for r in rows])
    la, lb = _line([r["cost_latency_s"] * clock_hz for r in rows],
                   [r["instructions"] for r in rows])
    return McuFit(fa, fb, sa, sb, la, lb / clock_hz, len(rows), channels, classes, length)


def fit_to_dict(fit: McuFit) -> dict[str, Any]:
    """The fit as plain YAML-able data (the profile's ``fit`` key)."""
    return asdict(fit)


def fit_from_dict(raw: Any, fail: Any) -> McuFit:
    """Validate a profile's ``fit`` mapping; ``fail(key, problem)`` makes the error."""
    if not isinstance(raw, Mapping) or set(raw) != set(KEYS):
        raise fail("fit", f"expected a mapping with keys {', '.join(KEYS)}")
    values: dict[str, Any] = {}
    for key in KEYS:
        v = raw[key]
        if key in ("measured", "assumed"):
            ok = isinstance(v, str) and bool(v.strip())
        elif key in _EXACT:
            ok = isinstance(v, int) and not isinstance(v, bool) and v >= 1
        else:
            ok = isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v)
        if ok and key.endswith("_scale"):
            ok = v > 0  # the fitted costs keep the analytic order
        if not ok:
            raise fail(f"fit.{key}", f"invalid value {v!r}")
        values[key] = v if key in _EXACT else float(v)
    return McuFit(**values)
