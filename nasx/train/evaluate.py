"""Accuracy and loss of subnets on a data split, each after BatchNorm recalibration."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from nasx.data import Batch, SequenceSet, iterate_batches
from nasx.data.lazy_sequences import LazySequenceSet
from nasx.search_spaces import Arch, arch_id
from nasx.supernet import Supernet
from nasx.train.bn_recal import WholeSplit, preserved_bn_state, recalibrate_bn
from nasx.train.seeds import derived_seed

EVAL_BATCH_SIZE = 256
_CALIB_STREAM = 1


@dataclass(frozen=True)
class SubnetEval:
    """One subnet evaluated on one split.

    Attributes:
        name: how the run calls it (``largest``, ``smallest``, ``random-3``, an arch id...).
        arch_id: the arch's stable id.
        accuracy: share of correctly classified sequences, in [0, 1].
        loss: mean cross-entropy (no label smoothing).
        n: number of sequences.
        correct: ``(n,)`` bool, which sequences it classified correctly (in the split's order);
            not compared and not in :meth:`as_json`.
        losses: ``(n,)`` float32, each sequence's cross-entropy (in the split's order); not
            compared and not in :meth:`as_json`.
    """

    name: str
    arch_id: str
    accuracy: float
    loss: float
    n: int
    correct: np.ndarray | None = field(default=None, compare=False, repr=False)
    losses: np.ndarray | None = field(default=None, compare=False, repr=False)

    def as_json(self) -> dict[str, object]:
        """A JSON-ready dict: ``name``, ``id``, ``accuracy``, ``loss``, ``n``."""
        return {"name": self.name, "id": self.arch_id, "accuracy": self.accuracy,
                "loss": self.loss, "n": self.n}


def calibration_batches(
    train: SequenceSet | LazySequenceSet, batch_size: int, count: int, seed: int,
    device: torch.device | str
) -> Sequence[Batch]:
    """The first ``count`` batches of a seeded shuffle of ``train``, on ``device``; with
    ``count == 0`` the whole of ``train`` (:class:`~nasx.train.bn_recal.WholeSplit`: exact
    training-split statistics, no sampling noise, measured over chunks of 256 sequences
    without holding the split as one batch).

    The same ``seed`` gives the same batches in every process (training and ``nasx eval``).
    """
    if count == 0:
        return WholeSplit(train, device)
    gen = torch.Generator().manual_seed(derived_seed(seed, _CALIB_STREAM))
    batches = iterate_batches(train, batch_size, shuffle=True, generator=gen)
    return [b.to(device) for b in itertools.islice(batches, count)]


@torch.no_grad()
def evaluate_subnets(
    net: Supernet,
    archs: Sequence[tuple[str, Arch]],
    data: SequenceSet,
    calib: Sequence[Batch],
) -> list[SubnetEval]:
    """Evaluate each ``(name, arch)`` on ``data`` after recalibrating BatchNorm on ``calib``.

    ``net`` is left exactly as it was: BatchNorm buffers, training mode and active arch are
    restored, and activation ranges are never updated.
    """
    mode, active = net.training, net.active_arch
    results = []
    try:
        with preserved_bn_state(net):
            for name, arch in archs:
                recalibrate_bn(net, arch, calib)
                results.append(score_active(net.eval(), name, data))
    finally:
        net.train(mode)
        net.set_active(active)
    return results


@torch.no_grad()
def score_active(net: Supernet, name: str, data: SequenceSet) -> SubnetEval:
    """Accuracy and mean loss of ``net``'s active subnet on ``data``, as it stands (no
    recalibration; call it in eval mode)."""
    device = next(net.parameters()).device
    hits: list[torch.Tensor] = []
    losses: list[torch.Tensor] = []
    loss_sum = 0.0  # summed as it always was, so recorded mean losses stay bit for bit
    for b in iterate_batches(data, EVAL_BATCH_SIZE, shuffle=False):
        b = b.to(device)
        logits = net(b.x, b.lengths)  # (B, classes)
        loss_sum += F.cross_entropy(logits, b.y, reduction="sum").item()
        losses.append(F.cross_entropy(logits, b.y, reduction="none").float().cpu())  # (B,)
        hits.append((logits.argmax(dim=1) == b.y).cpu())  # (B,)
    n = len(data)
    correct = torch.cat(hits).numpy() if hits else np.zeros(0, dtype=bool)  # (n,)
    each = torch.cat(losses).numpy() if losses else np.zeros(0, dtype=np.float32)  # (n,)
    return SubnetEval(name, arch_id(net.active_arch), int(correct.sum()) / n, loss_sum / n, n,
                      correct, each)
