"""Which subnets a training step trains and which ones every epoch evaluates.

A step trains the largest subnet, the smallest one and ``num_random`` random ones (the sandwich
rule). They are drawn from a numpy Generator seeded with ``(seed, step)`` alone, so every rank
of a distributed run, and a resumed run, draws the same archs. The op of each block slot of the
largest and smallest subnets comes from ``op_choice``:

- ``sample``: drawn per slot, independently for the largest and the smallest;
- ``paired``: drawn per slot for the largest; the smallest takes the largest's op in each of its
  slots (teacher and student share their op layout);
- ``first``: always the first allowed op of the slot (in registry order: conv, lstm, ssm,
  attn, gru): no draw.

The quantization policy comes with the arch: largest float, smallest the lowest bits, random
subnets random bits per layer.

Progressive shrinking narrows the space instead: :func:`restricted_space` keeps only the largest
choice of the dimension groups not yet unlocked (:data:`PROGRESSIVE_GROUPS`, in unlock order).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nasx.ops import OPS
from nasx.search_spaces import (
    OP_CHOICE_KEYS,
    Arch,
    SearchSpace,
    largest_arch,
    random_arch,
    smallest_arch,
)

OP_CHOICES = ("sample", "paired", "first")
# The name of the one subnet of a standalone run (``train.arch``), in steps and evaluations.
STANDALONE = "standalone"

# Elastic dimensions unlocked one group per phase of progressive shrinking (as in Once-for-All:
# kernel first, then depth, then width); the last group is the bit-widths.
PROGRESSIVE_GROUPS: tuple[str, ...] = ("kernel", "depth", "width", "bits")

# Stream tag that keeps the evaluation archs apart from the per-step training draws.
_MONITOR_STREAM = 0x6E617378


def step_rng(seed: int, step: int) -> np.random.Generator:
    """The Generator a training step draws its subnets from; depends on ``(seed, step)`` only."""
    return np.random.default_rng([seed, step])


def _paired_smallest(space: SearchSpace, small: Arch, big: Arch) -> Arch:
    """``small`` with each block's op replaced by ``big``'s op in that slot (smallest choices)."""
    stages = []
    for st_small, st_big in zip(small["stages"], big["stages"], strict=True):
        blocks = []
        for blk, ref in zip(st_small["blocks"], st_big["blocks"], strict=False):
            op = ref["op"]
            spec = space.ops[op]
            blocks.append({"op": op, **{k: getattr(spec, k)[0] for k in OP_CHOICE_KEYS[op]},
                           "wbits": blk["wbits"], "abits": blk["abits"]})
        stages.append({**st_small, "blocks": blocks})
    return {"stem": dict(small["stem"]), "stages": stages}


def sandwich_archs(
    space: SearchSpace, rng: np.random.Generator, num_random: int, op_choice: str
) -> list[tuple[str, Arch]]:
    """``[("largest", a), ("smallest", a), ("random-1", a), ...]`` drawn from ``rng`` in order."""
    if op_choice not in OP_CHOICES:
        raise ValueError(f"op_choice must be one of {OP_CHOICES}, got {op_choice!r}")
    big = largest_arch(space, None if op_choice == "first" else rng)
    small = smallest_arch(space, rng if op_choice == "sample" else None)
    if op_choice == "paired":
        small = _paired_smallest(space, small, big)
    out = [("largest", big), ("smallest", small)]
    out += [(f"random-{i + 1}", random_arch(space, rng)) for i in range(num_random)]
    return out


def monitor_archs(
    space: SearchSpace, seed: int, num_random: int, op_choice: str
) -> list[tuple[str, Arch]]:
    """The fixed subnets evaluated every epoch: largest, smallest and ``num_random`` random ones.

    Drawn once from a stream seeded by ``seed`` that training never uses; asking for more random
    subnets returns the same ones first (``random:K`` in ``nasx eval`` extends this list).
    """
    rng = np.random.default_rng([seed, _MONITOR_STREAM, 0])
    return sandwich_archs(space, rng, num_random, op_choice)


def _top(choices: tuple, *, smaller_is_larger: bool = False) -> tuple:
    """The one-element tuple of the "largest" of sorted ``choices``."""
    return (choices[0],) if smaller_is_larger else (choices[-1],)


def restricted_space(space: SearchSpace, unlocked: int) -> SearchSpace:
    """``space`` with the groups ``PROGRESSIVE_GROUPS[unlocked:]`` fixed at their largest choice.

    Groups: ``kernel`` (stem and conv kernels), ``depth`` (stage depths and all strides),
    ``width`` (stem/stage widths, expand, hidden, state, heads, ffn), ``bits`` (weight and
    activation bits). ``unlocked >= len(PROGRESSIVE_GROUPS)`` returns ``space`` itself.
    """
    locked = set(PROGRESSIVE_GROUPS[max(0, unlocked):])
    if not locked:
        return space
    stem, ops, quant = space.stem, dict(space.ops), space.quant
    stages = list(space.stages)
    if "kernel" in locked:
        stem = dataclasses.replace(stem, kernel=_top(stem.kernel))
        for op in ops:
            kernel_keys = OPS[op].kernel_keys
            ops[op] = dataclasses.replace(
                ops[op], **{k: _top(getattr(ops[op], k)) for k in kernel_keys})
    if "depth" in locked:
        stem = dataclasses.replace(stem, stride=_top(stem.stride, smaller_is_larger=True))
        stages = [dataclasses.replace(st, depth=_top(st.depth),
                                      stride=_top(st.stride, smaller_is_larger=True))
                  for st in stages]
    if "width" in locked:
        stem = dataclasses.replace(stem, width=_top(stem.width))
        stages = [dataclasses.replace(st, width=_top(st.width)) for st in stages]
        for op in ops:
            width_keys = [k for k in OPS[op].choice_keys if k not in OPS[op].kernel_keys]
            ops[op] = dataclasses.replace(
                ops[op], **{k: _top(getattr(ops[op], k)) for k in width_keys})
    if "bits" in locked:
        quant = dataclasses.replace(quant, weight_bits=_top(quant.weight_bits),
                                    act_bits=_top(quant.act_bits))
    return dataclasses.replace(space, stem=stem, stages=tuple(stages), ops=ops, quant=quant)


def stride_warning(space: SearchSpace, max_length: int) -> str | None:
    """A warning when subnets of ``space`` can stride past the data's longest sequence (their
    last strided stages then see one step), else ``None``."""
    stride = max(space.stem.stride)
    for stage in space.stages:
        stride *= max(stage.stride)
    if stride <= max_length:
        return None
    return (f"subnets of space {space.name} reach a total stride of {stride}, more than the "
            f"data's longest sequence ({max_length} steps): their last strided stages see a "
            "single step; use a space with smaller strides for this data")
