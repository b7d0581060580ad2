"""Seeded sampling of archs: largest, smallest, uniformly random; and counting the subnets.

Every ordinal choice has a "larger" end: more width, depth, kernel, expand, hidden, state, heads,
FFN and bits are larger; a *smaller* stride is larger (it keeps more time steps). The op type of
a slot has no order: the largest and smallest archs draw it per slot from ``rng`` (uniformly, or
by the space's ``sampling.op_weights``); without an ``rng`` they take the first allowed op in the
registry order (conv, lstm, ssm, attn, gru, mamba).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nasx.search_spaces.arch import Arch
from nasx.search_spaces.schema import OP_CHOICE_KEYS, SearchSpace, StageSpace


def _draw_op(space: SearchSpace, stage: StageSpace, rng: np.random.Generator | None) -> str:
    if rng is None:
        return stage.ops[0]
    w = np.array([space.op_weights.get(op, 1.0) for op in stage.ops], dtype=np.float64)
    return stage.ops[int(rng.choice(len(stage.ops), p=w / w.sum()))]


def _extreme_arch(space: SearchSpace, rng: np.random.Generator | None, big: bool) -> Arch:
    end = -1 if big else 0  # choices are sorted ascending
    stride_end = 0 if big else -1
    q = space.quant
    bits = {"wbits": q.weight_bits[end], "abits": q.act_bits[end]}
    stem = {
        "width": space.stem.width[end],
        "kernel": space.stem.kernel[end],
        "stride": space.stem.stride[stride_end],
        **bits,
    }
    stages = []
    for st in space.stages:
        blocks = []
        for _ in range(st.depth[end]):
            op = _draw_op(space, st, rng)
            spec = space.ops[op]
            blocks.append(
                {"op": op, **{k: getattr(spec, k)[end] for k in OP_CHOICE_KEYS[op]}, **bits}
            )
        stages.append(
            {
                "depth": st.depth[end],
                "width": st.width[end],
                "stride": st.stride[stride_end],
                **bits,
                "blocks": blocks,
            }
        )
    return {"stem": stem, "stages": stages}


def largest_arch(space: SearchSpace, rng: np.random.Generator | None = None) -> Arch:
    """The largest subnet: the large end of every ordinal choice; ops drawn per slot."""
    return _extreme_arch(space, rng, big=True)


def smallest_arch(space: SearchSpace, rng: np.random.Generator | None = None) -> Arch:
    """The smallest subnet: the small end of every ordinal choice; ops drawn per slot."""
    return _extreme_arch(space, rng, big=False)


def random_arch(space: SearchSpace, rng: np.random.Generator) -> Arch:
    """A random subnet: every choice uniform (ops by ``sampling.op_weights``), depth first."""

    def pick(choices: tuple[Any, ...]) -> Any:
        return choices[int(rng.integers(len(choices)))]

    q = space.quant
    stem = {
        "width": pick(space.stem.width),
        "kernel": pick(space.stem.kernel),
        "stride": pick(space.stem.stride),
        "wbits": pick(q.weight_bits),
        "abits": pick(q.act_bits),
    }
    stages = []
    for st in space.stages:
        depth = pick(st.depth)
        head = {
            "depth": depth,
            "width": pick(st.width),
            "stride": pick(st.stride),
            "wbits": pick(q.weight_bits),
            "abits": pick(q.act_bits),
        }
        blocks = []
        for _ in range(int(depth)):
            op = _draw_op(space, st, rng)
            spec = space.ops[op]
            block = {"op": op, **{k: pick(getattr(spec, k)) for k in OP_CHOICE_KEYS[op]}}
            block["wbits"] = pick(q.weight_bits)
            block["abits"] = pick(q.act_bits)
            blocks.append(block)
        stages.append({**head, "blocks": blocks})
    return {"stem": stem, "stages": stages}


def count_subnets(space: SearchSpace) -> int:
    """Exact number of distinct archs in ``space`` (a Python int; may be astronomically large)."""
    q = space.quant
    bits = len(q.weight_bits) * len(q.act_bits)
    total = len(space.stem.width) * len(space.stem.kernel) * len(space.stem.stride) * bits
    for st in space.stages:
        per_slot = bits * sum(
            math.prod(len(getattr(space.ops[op], k)) for k in OP_CHOICE_KEYS[op]) for op in st.ops
        )
        total *= len(st.width) * len(st.stride) * bits * sum(per_slot**d for d in st.depth)
    return total
