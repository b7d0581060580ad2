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


StepSync = Callable[[nn.Module, Sequence[float], bool], tuple[list[float], bool]]
"""``(net, losses, finite) -> (global losses, all finite)``: reduces the gradients in place
(see :func:`nasx.train.distributed.all_reduce_step`)."""


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
    sync: StepSync | None = None,
    loss_weight: float = 1.0,
) -> StepResult:
    """Train ``archs[0]`` (the largest) on labels and ``archs[1:]`` by distillation, one step.

    ``net`` runs ``net(x, lengths, arch=...)`` and is in training mode. With ``eps == 0`` the
    smaller subnets are not run at all. ``no_sync`` (DistributedDataParallel's) wraps every
    backward but the last, so gradients are all-reduced once per step. ``grad_clip <= 0``
    measures the gradient norm without clipping.

    ``sync`` (data-parallel training without DDP) is called once on every rank after the last
    backward, so that the ranks agree on the gradients, the reported losses (of the global
    batch) and whether the step is skipped. With ``sync`` every rank runs every forward and
    backward pass of the step in the same order, also when its loss is not finite (the step is
    then skipped everywhere) or its shard is empty (a zero loss), because synchronised
    BatchNorm communicates inside them. ``loss_weight`` (the rank's share of the global batch)
    scales every loss before its backward; ``sync`` then sums the gradients.
    """
    optimizer.zero_grad(set_to_none=True)
    _, largest = archs[0]
    students = list(archs[1:]) if eps > 0 else []
    n_backward = 1 + len(students)
    lockstep = sync is not None
    empty = len(batch.y) == 0

    def backward(loss: Tensor, index: int) -> None:
        last = index == n_backward - 1
        ctx = no_sync() if (no_sync is not None and not last) else contextlib.nullcontext()
        with ctx:
            (loss * loss_weight if loss_weight != 1.0 else loss).backward()

    losses: list[float] = []
    finite = True
    if not empty or lockstep:
        logits = net(batch.x, batch.lengths, arch=largest)  # (B, K)
        loss = (logits.sum() * 0.0 if empty
                else F.cross_entropy(logits, batch.y, label_smoothing=label_smoothing))
        losses.append(loss.item())
        finite = _finite(losses[0])
        if finite or lockstep:
            backward(loss, 0)
            teacher = logits.detach()
            with dropout_off(net):
                for i, (_, arch) in enumerate(students, start=1):
                    student = net(batch.x, batch.lengths, arch=arch)  # (B, K)
                    kd = (student.sum() * 0.0 if empty
                          else distill_loss(student, teacher, kd_temperature))
                    losses.append(kd.item())
                    finite = finite and _finite(losses[-1])
                    if not finite and not lockstep:
                        break
                    backward(eps * kd, i)
    if sync is not None:
        padded = losses + [0.0] * (n_backward - len(losses))  # same length on every rank
        losses, finite = sync(net, padded, finite)
    loss_largest = losses[0]
    distill = {name: v for (name, _), v in zip(students, losses[1:], strict=False)}
    if not finite:
        optimizer.zero_grad(set_to_none=True)
        return StepResult(loss_largest, distill, skipped=True)
    params = [p for p in net.parameters() if p.grad is not None]
    max_norm = grad_clip if grad_clip > 0 else math.inf
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    if not _finite(grad_norm):
        optimizer.zero_grad(set_to_none=True)
        return StepResult(loss_largest, distill, grad_norm, skipped=True)
    optimizer.step()
    return StepResult(loss_largest, distill, grad_norm)
