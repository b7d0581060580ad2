"""TensorBoard runs of a training run, under ``runs/<name>/tb``.

- ``tb/train``: the per-step scalars (``train/loss_largest``, ``train/loss_distill``,
  ``train/lr``, ``train/eps``, ``train/grad_norm``, ``train/skipped``);
- ``tb/subnets/<name>`` for ``largest``, ``smallest``, ``random-<k>`` and ``random-median``
  (the median of the random subnets): the same tags ``val/accuracy (%)`` and ``val/loss`` in
  every run, so the subnets' curves overlay in one chart per tag.

Every tag carries a description with its unit (:class:`nasx.tb.TagWriter`); the events files
open on the first value, so a resume that writes nothing leaves no empty file.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from nasx.runs.layout import TB_SUBNETS_DIR, TB_TRAIN_DIR
from nasx.tb import TagWriter
from nasx.train.evaluate import SubnetEval
from nasx.train.sandwich import StepResult

RANDOM_MEDIAN = "random-median"
STEP_DESCRIPTIONS: dict[str, str] = {
    "train/loss_largest": "cross-entropy of the largest subnet on the training batch (hard "
                          "labels, with label smoothing), nats per sequence",
    "train/loss_distill": "distillation loss (KL divergence to the largest subnet's logits at "
                          "the KD temperature), mean over the smaller subnets, nats per sequence",
    "train/lr": "learning rate of the optimizer at this step (no unit)",
    "train/eps": "ε: the smaller subnets' gradient scale (0 while only the largest trains, "
                 "then ramping to 1), no unit",
    "train/grad_norm": "global L2 norm of the summed gradient before clipping (no unit)",
    "train/skipped": "1 when the step was skipped (a non-finite loss or gradient), else 0",
}


def eval_descriptions(split: str = "val") -> dict[str, str]:
    """The description of each per-subnet tag of ``split``."""
    return {
        f"{split}/accuracy (%)": f"{split} accuracy of the subnet after BatchNorm "
                                 "recalibration, % of sequences; one run per subnet "
                                 "(subnets/largest, subnets/smallest, subnets/random-<k>, "
                                 "subnets/random-median) so the curves overlay",
        f"{split}/loss": f"{split} cross-entropy of the subnet (no label smoothing), nats per "
                         "sequence; one run per subnet",
    }


def step_scalars(result: StepResult, lr: float, eps: float) -> dict[str, float]:
    """Per-step scalars: losses, gradient norm, learning rate, ε, whether the step was skipped."""
    out = {"train/loss_largest": result.loss_largest, "train/lr": lr, "train/eps": eps,
           "train/grad_norm": result.grad_norm, "train/skipped": float(result.skipped)}
    if result.loss_distill:
        out["train/loss_distill"] = statistics.fmean(result.loss_distill.values())
    return out


def eval_scalars(evals: Sequence[SubnetEval], split: str = "val") -> dict[str, dict[str, float]]:
    """Subnet run name -> ``{"<split>/accuracy (%)": ..., "<split>/loss": ...}``: one entry per
    evaluated subnet, plus ``random-median`` (the random subnets' medians) when there are any."""
    acc, loss = f"{split}/accuracy (%)", f"{split}/loss"
    out = {e.name: {acc: 100 * e.accuracy, loss: e.loss} for e in evals}
    randoms = [e for e in evals if e.name.startswith("random-")]
    if randoms:
        out[RANDOM_MEDIAN] = {acc: 100 * statistics.median(e.accuracy for e in randoms),
                              loss: statistics.median(e.loss for e in randoms)}
    return out


class TrainBoard:
    """The TensorBoard runs of one training run (see the module docstring).

    Args:
        run_dir: the run folder.
        step: the step training starts at; when resuming (``step > 0``), the events an earlier
            process wrote after its checkpoint are purged (the redone steps are not logged
            twice): step scalars at or after ``step``, evaluations after it (the checkpoint
            at ``step`` was saved after the evaluation logged at ``step``, which stays).
    """

    def __init__(self, run_dir: Path, step: int) -> None:
        self.run_dir = Path(run_dir)
        self.resumed = step > 0
        self.step = step
        self.train = TagWriter(self.run_dir / TB_TRAIN_DIR,
                               purge_step=step if self.resumed else None)
        self.subnets: dict[str, TagWriter] = {}

    def log_step(self, result: StepResult, lr: float, eps: float, step: int) -> None:
        """The step scalars of :func:`step_scalars` at ``step``, in run ``train``."""
        self.train.scalars(step_scalars(result, lr, eps), step, STEP_DESCRIPTIONS)

    def log_evals(self, evals: Sequence[SubnetEval], step: int, split: str = "val") -> None:
        """Each subnet's accuracy and loss at ``step``, in run ``subnets/<name>``."""
        descriptions = eval_descriptions(split)
        for name, values in eval_scalars(evals, split).items():
            writer = self.subnets.get(name)
            if writer is None:
                writer = TagWriter(self.run_dir / TB_SUBNETS_DIR / name,
                                   purge_step=self.step + 1 if self.resumed else None)
                self.subnets[name] = writer
            writer.scalars(values, step, descriptions)

    def flush(self) -> None:
        """Flush every open events file."""
        for writer in (self.train, *self.subnets.values()):
            writer.flush()

    def close(self) -> None:
        """Close every open events file."""
        for writer in (self.train, *self.subnets.values()):
            writer.close()
