"""TensorBoard scalars of a training run (``runs/<name>/tb``)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from nasx.train.evaluate import SubnetEval
from nasx.train.sandwich import StepResult


def open_writer(folder: Path, step: int) -> SummaryWriter:
    """A writer for ``folder``; when resuming at ``step > 0``, events at or after it are purged
    (the steps redone after a resume are not logged twice)."""
    return SummaryWriter(str(folder), purge_step=step if step > 0 else None)


def step_scalars(result: StepResult, lr: float, eps: float) -> dict[str, float]:
    """Per-step scalars: losses, gradient norm, learning rate, ε, whether the step was skipped."""
    out = {"train/loss_largest": result.loss_largest, "train/lr": lr, "train/eps": eps,
           "train/grad_norm": result.grad_norm, "train/skipped": float(result.skipped)}
    if result.loss_distill:
        out["train/loss_distill"] = statistics.fmean(result.loss_distill.values())
    return out


def eval_scalars(evals: Sequence[SubnetEval], split: str = "val") -> dict[str, float]:
    """``<split>/<name>/accuracy`` and ``.../loss`` per subnet, plus the random subnets' median."""
    out: dict[str, float] = {}
    for e in evals:
        out[f"{split}/{e.name}/accuracy"] = e.accuracy
        out[f"{split}/{e.name}/loss"] = e.loss
    randoms = [e for e in evals if e.name.startswith("random-")]
    if randoms:
        out[f"{split}/random_median/accuracy"] = statistics.median(e.accuracy for e in randoms)
        out[f"{split}/random_median/loss"] = statistics.median(e.loss for e in randoms)
    return out


def write_scalars(writer: SummaryWriter, scalars: dict[str, float], step: int) -> None:
    """Add every scalar at global ``step``."""
    for tag, value in scalars.items():
        writer.add_scalar(tag, value, step)
