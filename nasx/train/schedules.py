"""Training schedules as pure functions of the step and the run length.

Steps count from 0; ``total_steps`` is the whole run (``epochs * steps_per_epoch``). Nothing here
keeps state, so a resumed run computes exactly the values an uninterrupted one does.
"""

from __future__ import annotations

import math


def lr_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    """Multiplier of the peak learning rate at ``step``: linear warm-up, then cosine to 0.

    During warm-up (``step < warmup_steps``) the factor is ``(step + 1) / warmup_steps``, so the
    first step already moves; afterwards it is ``0.5 * (1 + cos(pi * t))`` with ``t`` going from
    0 at ``step == warmup_steps`` towards 1 at ``step == total_steps``.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    t = min(1.0, (step - warmup_steps) / decay_steps)
    return 0.5 * (1.0 + math.cos(math.pi * t))


def delay_steps(total_steps: int, delay: float) -> int:
    """Steps at the start of the run during which only the largest subnet trains."""
    return math.floor(delay * total_steps)


def shrink_eps(
    step: int, total_steps: int, steps_per_epoch: int, delay: float, eps_warmup: float
) -> float:
    """Loss scale ε of the smaller subnets at ``step`` (delayed ε-shrinking).

    0 for the first ``delay_steps(total_steps, delay)`` steps; then it ramps linearly to 1 over
    ``eps_warmup`` epochs: ``(step - start + 1) / (eps_warmup * steps_per_epoch)``, capped at 1
    (so the first shrinking step already has ε > 0); ``eps_warmup == 0`` jumps straight to 1.
    """
    start = delay_steps(total_steps, delay)
    if step < start:
        return 0.0
    ramp = eps_warmup * steps_per_epoch
    if ramp <= 0:
        return 1.0
    return min(1.0, (step - start + 1) / ramp)


def progressive_phase(step: int, total_steps: int, delay: float, phases: int) -> int:
    """Which of ``phases`` equal parts of the shrinking phase ``step`` falls in; -1 while delayed.

    The shrinking phase runs from ``delay_steps(total_steps, delay)`` to ``total_steps``; phase
    ``p`` covers its ``p``-th ``1 / phases`` share (later steps clamp to the last phase).
    """
    start = delay_steps(total_steps, delay)
    if step < start:
        return -1
    span = max(1, total_steps - start)
    return min(phases - 1, (step - start) * phases // span)
