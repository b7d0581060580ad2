"""Supernet training: sandwich rule, in-place distillation, delayed ε-shrinking (DεpS).

Modules: :mod:`~nasx.train.schedules` (LR, ε and phase schedules as pure functions),
:mod:`~nasx.train.subnets` (which subnets a step trains), :mod:`~nasx.train.plan` (step counts
and per-step subnets), :mod:`~nasx.train.sandwich` (one step), :mod:`~nasx.train.optim`
(optimizer, weight-decay groups, LR scheduler), :mod:`~nasx.train.bn_recal` (BatchNorm
recalibration), :mod:`~nasx.train.evaluate` (accuracy and loss of subnets),
:mod:`~nasx.train.tb`, :mod:`~nasx.train.distributed` (data-parallel steps under ``torchrun``),
:mod:`~nasx.train.loop` (the recipe, :func:`train_supernet`) and :mod:`~nasx.train.run_eval`
(``nasx eval``). The run's files (checkpoints, ``archs.json``, the loaded run) are
:mod:`nasx.runs`.

Importing this package imports torch; the CLI imports it lazily.
"""

from __future__ import annotations

from nasx.train.evaluate import SubnetEval, evaluate_subnets
from nasx.train.loop import TrainingDivergedError, TrainResult, train_supernet

__all__ = [
    "SubnetEval",
    "TrainResult",
    "TrainingDivergedError",
    "evaluate_subnets",
    "train_supernet",
]
