"""Hardware cost models and predictors (imported as ``nasx.predictors``).

- device profiles: :func:`load_device` (a shipped name or a YAML path), :func:`device_names`;
- analytic cost with no torch run: :class:`CostModel` (MACs, params, flash, peak SRAM,
  latency; whole-sequence or streaming), built on the deployment :mod:`.schedule`;
- independent counts on an extracted module to check it: :mod:`.module_audit` (imports torch,
  so it is not imported here).
- measured latency (``nasx profile``): :mod:`.measure` (timing, imports torch),
  :mod:`.latency_data` (the resumable measurements), :mod:`.latency_model`
  (``LatencyPredictor``, ``find_latency_predictor``), :mod:`.latency_profile` (the whole
  profile, imports torch); import them by module path.
- accuracy predictor (``nasx predictor fit``): :mod:`.features` (``ArchFeatures``, per-gene
  columns then the whole-arch columns of :mod:`.arch_summary`), :mod:`.ridge`,
  :mod:`.mlp_ensemble`, :mod:`.tree_ensemble` (two views), :mod:`.accuracy`
  (``AccuracyPredictor``, model choice),
  :mod:`.accuracy_data` (the resumable, sharded dataset; ``evaluate_archs``),
  :mod:`.accuracy_fit` (``fit_run_predictor``, ``load_run_predictor``); they import torch, so
  import them by module path.
"""

from __future__ import annotations

from nasx.predictors.cost import MODES, ArchCost, CostModel
from nasx.predictors.device_profile import DEVICE_CLASSES, OP_CLASSES, DeviceProfile, MemoryRegion
from nasx.predictors.devices import (
    DeviceError,
    device_names,
    load_device,
    profile_from_dict,
    profile_to_dict,
)
from nasx.predictors.latency import latency_label, schedule_latency_s, step_latency_s
from nasx.predictors.schedule import Step

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
