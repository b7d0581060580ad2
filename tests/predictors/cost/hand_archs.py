"""A one-block search space per op type and its arch, for hand-computed cost tests.

Every arch: input 2 channels, length 10, 3 classes; stem conv 2 -> 4 (k3, w8a8); entry conv
4 -> 8 (k1: the stage never strides, w8a8); one block at width 8; head 8 -> 3.
"""

from __future__ import annotations

from typing import Any

from nasx.search_spaces import SearchSpace, space_from_dict

CHANNELS, CLASSES, LENGTH = 2, 3, 10

OPS: dict[str, dict[str, Any]] = {
    "conv": {"kernel": [3], "expand": [2]},   # hidden 16
    "lstm": {"hidden": [0.5]},                # hidden 4
    "ssm": {"state": [4], "expand": [1]},     # inner 8, state 4
    "attn": {"heads": [2], "head_dim": 4, "ffn": [1]},  # inner 8, FFN 8
}
BLOCK_BITS = {"conv": (4, 8), "lstm": (32, 32), "ssm": (8, 8), "attn": (8, 8)}


def hand_space(op: str) -> SearchSpace:
    """A space with exactly one arch of one ``op`` block."""
    return space_from_dict({
        "name": f"hand-{op}",
        "stem": {"width": [4], "kernel": [3], "stride": [1]},
        "stages": [{"depth": [1], "width": [8], "stride": [1], "ops": [op]}],
        "ops": {op: OPS[op]},
        "quant": {"weight_bits": [4, 8, 32], "act_bits": [8, 32]},
    })


def hand_arch(op: str) -> dict[str, Any]:
    """The arch of :func:`hand_space` with the block at ``BLOCK_BITS[op]``."""
    choices = {k: v[0] for k, v in OPS[op].items() if k != "head_dim"}
    wb, ab = BLOCK_BITS[op]
    return {
        "stem": {"width": 4, "kernel": 3, "stride": 1, "wbits": 8, "abits": 8},
        "stages": [{"depth": 1, "width": 8, "stride": 1, "wbits": 8, "abits": 8,
                    "blocks": [{"op": op, **choices, "wbits": wb, "abits": ab}]}],
    }
