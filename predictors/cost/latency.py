"""Latency of a deployment schedule on a device profile (no torch run).

- ``mcu``: analytic, ``sum over steps of work / (efficiency[op_class][dtype] x clock) +
  per_op_s``; ``work`` is MACs (elements for ``norm`` and ``pool``).
- ``cpu`` / ``gpu``: a roofline ESTIMATE per step, ``max(work / (peak[dtype] x
  efficiency[op_class][dtype]), bytes / bandwidth) + per_op_s`` with ``bytes`` = the step's
  input, output and flash bytes; labelled an estimate wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable

from nasx.predictors.cost.schedule import Step
from nasx.predictors.devices.profile import DeviceProfile


def step_latency_s(step: Step, device: DeviceProfile) -> float:
    """Seconds one ``step`` takes on ``device`` (see the module docstring)."""
    eff = device.efficiency_of(step.op_class, step.dtype)
    if device.is_mcu:
        return step.work / (eff * device.clock_hz) + device.per_op_s
    compute = step.work / (device.peak_of(step.dtype) * eff)
    traffic = (step.in_bytes + step.out_bytes + step.flash_bytes) / device.bandwidth_bytes_per_s
    return max(compute, traffic) + device.per_op_s


def schedule_latency_s(steps: Iterable[Step], device: DeviceProfile) -> float:
    """Seconds the whole schedule takes on ``device`` (the sum over its steps)."""
    return sum(step_latency_s(s, device) for s in steps)


def latency_label(device: DeviceProfile) -> str:
    """How the latency on ``device`` was obtained: ``analytic`` (mcu) or ``roofline estimate``."""
    return "analytic" if device.is_mcu else "roofline estimate"
