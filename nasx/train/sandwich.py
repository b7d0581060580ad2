"""One training step of the sandwich rule with in-place distillation (BigNAS).

The largest subnet learns from the hard labels (label smoothing, and dropout only here); the
smallest and the random subnets learn from the largest's detached logits (KL divergence at
temperature T, times T^2), each loss scaled by ε (delayed ε-shrinking). The gradients of all
subnets are summed and applied in one optimizer step after gradient clipping. A step whose loss
or gradient norm is not finite changes nothing and is reported as skipped.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx.data import Batch
from nasx.search_spaces import Arch


@dataclass(frozen=True)
class StepResult:
    """What one sandwich step did.

    Attributes:
        loss_largest: the largest subnet's hard-label loss (with label smoothing).
        loss_distill: unscaled distillation loss per smaller subnet name (empty when ε = 0).
        grad_norm: global gradient norm before clipping (nan when skipped before backward).
        skipped: a loss or the gradient norm was not finite; the weights were not changed.
    """

    loss_largest: float
    loss_distill: dict[str, float] = field(default_factory=dict)
    grad_norm: float = math.nan
    skipped: bool = False


def distill_loss(student: Tensor, teacher: Tensor, temperature: float) -> Tensor:
    """``T^2 * KL(softmax(teacher / T) || softmax(student / T))``, averaged over the batch.

    Args:
        student: logits ``(B, K)`` of the subnet being trained.
        teacher: logits ``(B, K)`` of the largest subnet, detached.
    """
    t = temperature
    log_p = F.log_softmax(teacher / t, dim=1)  # (B, K)
    log_q = F.log_softmax(student / t, dim=1)  # (B, K)
    return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True) * (t * t)


@contextmanager
def dropout_off(net: nn.Module) -> Iterator[None]:
    """Put every dropout module of ``net`` in eval mode (identity) until exit."""
    drops = [(m, m.training) for m in net.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    for m, _ in drops:
        m.eval()
    try:
        yield
    finally:
        for m, mode in drops:
            m.training = mode


def _finite(value: float) -> bool:
    return math.isfinite(value)


def sandwich_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    archs: Sequence[tuple[str, Arch]],
    *,
    eps: float,
    label_smoothing: float,
    kd_temperature: float,
    grad_clip: float,
    no_sync: Callable[[], AbstractContextManager[None]] | None = None,
) -> StepResult:
    """Train ``archs[0]`` (the largest) on labels and ``archs[1:]`` by distillation, one step.

    ``net`` runs ``net(x, lengths, arch=...)`` and is in training mode. With ``eps == 0`` the
    smaller subnets are not run at all. ``no_sync`` (DistributedDataParallel's) wraps every
    backward but the last, so gradients are all-reduced once per step. ``grad_clip <= 0``
    measures the gradient norm without clipping.
    """
    optimizer.zero_grad(set_to_none=True)
    _, largest = archs[0]
    students = list(archs[1:]) if eps > 0 else []
    n_backward = 1 + len(students)

    def backward(loss: Tensor, index: int) -> None:
        last = index == n_backward - 1
        ctx = no_sync() if (no_sync is not None and not last) else contextlib.nullcontext()
        with ctx:
            loss.backward()

    logits = net(batch.x, batch.lengths, arch=largest)  # (B, K)
    loss = F.cross_entropy(logits, batch.y, label_smoothing=label_smoothing)
    loss_largest = loss.item()
    if not _finite(loss_largest):
        optimizer.zero_grad(set_to_none=True)
        return StepResult(loss_largest, skipped=True)
    backward(loss, 0)
    teacher = logits.detach()
    distill: dict[str, float] = {}
    with dropout_off(net):
        for i, (name, arch) in enumerate(students, start=1):
            kd = distill_loss(net(batch.x, batch.lengths, arch=arch), teacher, kd_temperature)
            distill[name] = kd.item()
            if not _finite(distill[name]):
                optimizer.zero_grad(set_to_none=True)
                return StepResult(loss_largest, distill, skipped=True)
            backward(eps * kd, i)
    params = [p for p in net.parameters() if p.grad is not None]
    max_norm = grad_clip if grad_clip > 0 else math.inf
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    if not _finite(grad_norm):
        optimizer.zero_grad(set_to_none=True)
        return StepResult(loss_largest, distill, grad_norm, skipped=True)
    optimizer.step()
    return StepResult(loss_largest, distill, grad_norm)
