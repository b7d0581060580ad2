"""Hardware cost models and predictors (imported as ``nasx.predictors``), grouped by what they
predict:

- :mod:`.devices`: device profiles (the shipped ``devices/*.yaml``), :func:`load_device` (a
  shipped name or a YAML path), :func:`device_names` (:mod:`.devices.registry`),
  :class:`DeviceProfile` (:mod:`.devices.profile`) and the MCU cost fits of ``nasx profile``
  (:mod:`.devices.mcu_fit`);
- :mod:`.cost`: the analytic cost with no torch run, :class:`CostModel` (MACs, params, flash,
  peak SRAM, latency; whole-sequence or streaming; :mod:`.cost.model`), built on the deployment
  schedule (:mod:`.cost.schedule`), the C runtime's buffers (:mod:`.cost.runtime_memory`) and
  the analytic latency (:mod:`.cost.latency`);
- :mod:`.latency`: measured latency (``nasx profile``): :mod:`.latency.measure` (timing,
  imports torch), :mod:`.latency.runtimes`, :mod:`.latency.data` (the resumable measurements),
  :mod:`.latency.features`, :mod:`.latency.model` (``LatencyPredictor``,
  ``find_latency_predictor``), :mod:`.latency.profile` (the whole profile, imports torch);
- :mod:`.accuracy`: the accuracy predictor (``nasx predictor fit``): :mod:`.accuracy.features`
  (``ArchFeatures``, per-gene columns then the whole-arch columns of
  :mod:`.accuracy.arch_summary`), :mod:`.accuracy.ridge`, :mod:`.accuracy.mlp_ensemble`,
  :mod:`.accuracy.tree_ensemble` (two views), :mod:`.accuracy.predictor`
  (``AccuracyPredictor``, model choice), :mod:`.accuracy.data` (the resumable, sharded
  dataset; ``evaluate_archs``), :mod:`.accuracy.fit` (``fit_run_predictor``,
  ``load_run_predictor``).

The subpackages import nothing themselves: import their modules by path (several import torch).
The independent counts on an extracted module that check the cost model are checking tooling,
not shipped: ``tools/module_audit.py`` (used by ``tools/bench_cost.py`` and the tests).
"""

from __future__ import annotations

from nasx.predictors.cost.latency import latency_label, schedule_latency_s, step_latency_s
from nasx.predictors.cost.model import MODES, ArchCost, CostModel
from nasx.predictors.cost.schedule import Step
from nasx.predictors.devices.profile import DEVICE_CLASSES, OP_CLASSES, DeviceProfile, MemoryRegion
from nasx.predictors.devices.registry import (
    DeviceError,
    device_names,
    load_device,
    profile_from_dict,
    profile_to_dict,
)

__all__ = [
    "DEVICE_CLASSES",
    "MODES",
    "OP_CLASSES",
    "ArchCost",
    "CostModel",
    "DeviceError",
    "DeviceProfile",
    "MemoryRegion",
    "Step",
    "device_names",
    "latency_label",
    "load_device",
    "profile_from_dict",
    "profile_to_dict",
    "schedule_latency_s",
    "step_latency_s",
]
