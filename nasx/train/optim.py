"""Optimizer and learning-rate schedule for supernet training.

Weight decay applies to weight matrices and convolution kernels only. It is off for:

- every parameter with at most one dimension (norm scales and shifts, biases, SSM ``log_dt``
  and ``D``);
- the SSM dynamics ``A_log`` and ``B`` (decay would pull the poles and input gains towards 0;
  Mamba and S4 leave them undecayed), while the SSM read-out ``C`` is decayed like a projection;
- the learned kernel transforms of :class:`~nasx.supernet.kernel_crop.KernelCrop` (they start
  at the identity; decay would shrink small kernels towards 0 instead).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from nasx.config import TrainConfig
from nasx.ops import OPS
from nasx.supernet.kernel_crop import KernelCrop
from nasx.train.schedules import lr_factor

SGD_MOMENTUM = 0.9


def no_decay_names(net: nn.Module) -> set[str]:
    """Names (as in ``named_parameters``) of the parameters that get no weight decay."""
    names = {n for n, p in net.named_parameters() if p.ndim <= 1}
    per_op = {op.load("elastic"): op.no_decay for op in OPS.values() if op.no_decay}
    for mod_name, mod in net.named_modules():
        prefix = f"{mod_name}." if mod_name else ""
        if type(mod) in per_op:
            names.update(prefix + n for n in per_op[type(mod)])
        elif isinstance(mod, KernelCrop):
            names.update(prefix + n for n, _ in mod.named_parameters())
    return names


def param_groups(net: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    """Two optimizer groups: decayed weights, then everything in :func:`no_decay_names`."""
    skip = no_decay_names(net)
    named = list(net.named_parameters())
    return [
        {"params": [p for n, p in named if n not in skip], "weight_decay": weight_decay},
        {"params": [p for n, p in named if n in skip], "weight_decay": 0.0},
    ]


def build_optimizer(net: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, or SGD with Nesterov momentum 0.9, over :func:`param_groups` at ``cfg.lr``."""
    groups = param_groups(net, cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=SGD_MOMENTUM, nesterov=True)
    return torch.optim.AdamW(groups, lr=cfg.lr)


class WarmupCosine:
    """``LambdaLR`` factor: :func:`~nasx.train.schedules.lr_factor` with fixed run lengths.

    A plain object (not a closure) so that ``LambdaLR.state_dict`` saves its two integers.
    """

    def __init__(self, total_steps: int, warmup_steps: int) -> None:
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps

    def __call__(self, step: int) -> float:
        """The learning-rate factor at ``step``."""
        return lr_factor(step, self.total_steps, self.warmup_steps)


def build_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step warm-up + cosine schedule; call ``.step()`` once after every training step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(total_steps, warmup_steps))


def advance(scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
    """``scheduler.step()``, also after a skipped optimizer step (the schedule follows the step
    counter, so torch's warning about stepping the scheduler first does not apply)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
        scheduler.step()
