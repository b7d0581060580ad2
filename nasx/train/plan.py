"""The run plan: step counts and, for any step, its subnets and their loss scale ε.

Everything here is a pure function of the config, the training-set size and the step, which is
what makes resuming exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nasx.config import AUTO, RunConfig
from nasx.search_spaces import Arch, SearchSpace
from nasx.train.schedules import progressive_phase, shrink_eps
from nasx.train.subnets import (
    PROGRESSIVE_GROUPS,
    STANDALONE,
    restricted_space,
    sandwich_archs,
    step_rng,
)


@dataclass(frozen=True)
class RunPlan:
    """Step counts and shrinking policy of one training run.

    Attributes:
        seed: the run seed (subnet draws use ``(seed, step)``).
        steps_per_epoch: optimizer steps per epoch.
        total_steps: ``epochs * steps_per_epoch``.
        warmup_steps: LR warm-up steps, ``round(warmup_epochs * steps_per_epoch)``.
        shrink: ``deps``, ``sandwich`` or ``progressive``.
        delay: fraction of steps that train only the largest subnet (0 for ``sandwich``).
        eps_warmup: epochs of the ε ramp (0 for ``sandwich``).
        num_random: random subnets per step.
        op_choice: see :mod:`nasx.train.subnets`.
        fixed_arch: standalone training (``train.arch``): every step trains this arch alone.
    """

    seed: int
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int
    shrink: str
    delay: float
    eps_warmup: float
    num_random: int
    op_choice: str
    fixed_arch: Arch | None = None

    @classmethod
    def from_config(cls, cfg: RunConfig, n_train: int, fixed_arch: Arch | None = None) -> RunPlan:
        """The plan of ``cfg`` for a training split of ``n_train`` sequences (and the arch of
        ``train.arch``, loaded by the caller, for standalone training)."""
        t = cfg.train
        sandwich = t.shrink == "sandwich"  # no ε ramp: eps_warmup is not used
        for key in ("epochs",) if sandwich else ("epochs", "eps_warmup"):
            if getattr(t, key) == AUTO:
                raise ValueError(f"train.{key} is still 'auto'; resolve the config first "
                                 "(nasx.recipe.resolve_recipe)")
        if cfg.data.batch_size == AUTO:
            raise ValueError("data.batch_size is still 'auto'; resolve the config first "
                             "(nasx.recipe.resolve_recipe)")
        steps = math.ceil(n_train / int(cfg.data.batch_size))
        if t.batches_per_epoch is not None:
            steps = min(steps, t.batches_per_epoch)
        return cls(
            seed=cfg.seed,
            steps_per_epoch=steps,
            total_steps=int(t.epochs) * steps,
            warmup_steps=round(t.warmup_epochs * steps),
            shrink=t.shrink,
            delay=0.0 if sandwich else t.delay,
            eps_warmup=0.0 if sandwich else t.eps_warmup,
            num_random=t.num_random,
            op_choice=t.op_choice,
            fixed_arch=fixed_arch,
        )

    def eps(self, step: int) -> float:
        """Loss scale of the smaller subnets at ``step`` (see ``schedules.shrink_eps``)."""
        return shrink_eps(step, self.total_steps, self.steps_per_epoch, self.delay,
                          self.eps_warmup)

    def unlocked_groups(self, step: int) -> int:
        """How many of ``PROGRESSIVE_GROUPS`` are elastic at ``step`` (all unless progressive)."""
        if self.shrink != "progressive":
            return len(PROGRESSIVE_GROUPS)
        phase = progressive_phase(step, self.total_steps, self.delay, len(PROGRESSIVE_GROUPS))
        return max(0, phase + 1)

    def archs(self, space: SearchSpace, step: int) -> list[tuple[str, Arch]]:
        """The subnets of ``step``: largest, smallest, random ones, drawn with ``(seed, step)``;
        in standalone training only ``[("standalone", fixed_arch)]``."""
        if self.fixed_arch is not None:
            return [(STANDALONE, self.fixed_arch)]
        sub = restricted_space(space, self.unlocked_groups(step))
        return sandwich_archs(sub, step_rng(self.seed, step), self.num_random, self.op_choice)
