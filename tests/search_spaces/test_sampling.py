"""Seeded sampling of largest / smallest / random archs and exact subnet counting."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasx.errors import ArchError
from nasx.search_spaces import (
    OP_CHOICE_KEYS,
    canonical_arch,
    count_subnets,
    largest_arch,
    load_space,
    random_arch,
    smallest_arch,
    space_from_dict,
)

SMALL = {
    "name": "small",
    "stem": {"width": [4, 8], "kernel": [3], "stride": [1, 2]},
    "stages": [{"depth": [1, 2], "width": [8], "stride": 1, "ops": ["conv", "lstm"]}],
    "ops": {"conv": {"kernel": [3, 5], "expand": [1]}, "lstm": {"hidden": [1]}},
    "quant": {"weight_bits": [8, 32], "act_bits": [32]},
}


def _enumerate(space) -> set[str]:  # brute force over every arch of a small space
    q = space.quant
    out = set()
    stems = [
        {"width": w, "kernel": k, "stride": s, "wbits": wb, "abits": ab}
        for w, k, s, wb, ab in itertools.product(
            space.stem.width, space.stem.kernel, space.stem.stride, q.weight_bits, q.act_bits
        )
    ]
    st = space.stages[0]
    blocks = []
    for op in st.ops:
        spec = space.ops[op]
        keys = OP_CHOICE_KEYS[op]
        for vals in itertools.product(*(getattr(spec, k) for k in keys), q.weight_bits, q.act_bits):
            blocks.append(
                {
                    "op": op,
                    **dict(zip(keys, vals[:-2], strict=True)),
                    "wbits": vals[-2],
                    "abits": vals[-1],
                }
            )
    for stem in stems:
        for d, w, s, wb, ab in itertools.product(
            st.depth, st.width, st.stride, q.weight_bits, q.act_bits
        ):
            for combo in itertools.product(blocks, repeat=d):
                arch = {
                    "stem": stem,
                    "stages": [
                        {
                            "depth": d,
                            "width": w,
                            "stride": s,
                            "wbits": wb,
                            "abits": ab,
                            "blocks": list(combo),
                        }
                    ],
                }
                out.add(str(canonical_arch(space, arch)))
    return out


def test_count_subnets_matches_brute_force() -> None:
    space = space_from_dict(SMALL)
    assert count_subnets(space) == len(_enumerate(space)) == 8 * 2 * (6 + 36)


def test_count_of_presets() -> None:
    assert count_subnets(load_space("tiny")) == 259392430080


def test_seeded_sampling_is_reproducible() -> None:
    space = load_space("hybrid-mcu")
    a = [random_arch(space, np.random.default_rng(11)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    r1, r2 = np.random.default_rng(1), np.random.default_rng(1)
    assert [random_arch(space, r1) for _ in range(5)] == [random_arch(space, r2) for _ in range(5)]
    assert random_arch(space, np.random.default_rng(1)) != random_arch(
        space, np.random.default_rng(2)
    )


@pytest.mark.parametrize("name", ["tiny", "hybrid-mcu", "hybrid-gpu"])
def test_largest_and_smallest_bound_every_random_arch(name: str) -> None:
    space = load_space(name)
    rng = np.random.default_rng(0)
    big, small = largest_arch(space, rng), smallest_arch(space, rng)
    assert canonical_arch(space, big) == big and canonical_arch(space, small) == small
    for _ in range(200):
        a = random_arch(space, rng)
        for key in ("width", "kernel", "wbits", "abits"):
            assert small["stem"][key] <= a["stem"][key] <= big["stem"][key]
        assert big["stem"]["stride"] <= a["stem"]["stride"] <= small["stem"]["stride"]
        for sb, sa, ss in zip(big["stages"], a["stages"], small["stages"], strict=True):
            for key in ("depth", "width", "wbits", "abits"):
                assert ss[key] <= sa[key] <= sb[key]
            assert sb["stride"] <= sa["stride"] <= ss["stride"]
            for blk in sa["blocks"]:
                spec = space.ops[blk["op"]]
                for key in OP_CHOICE_KEYS[blk["op"]]:
                    assert min(getattr(spec, key)) <= blk[key] <= max(getattr(spec, key))


def test_op_weights_steer_the_op_draw() -> None:
    space = space_from_dict({**SMALL, "sampling": {"op_weights": {"conv": 0, "lstm": 1}}})
    rng = np.random.default_rng(0)
    ops = {b["op"] for _ in range(50) for b in random_arch(space, rng)["stages"][0]["blocks"]}
    assert ops == {"lstm"}
    assert largest_arch(space)["stages"][0]["blocks"][0]["op"] == "conv"  # no rng: first op


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda a: a["stem"].update(width=12),
            "arch: stem.width: 12 is not a choice (allowed: 4, 8)",
        ),
        (
            lambda a: a["stages"][0]["blocks"][0].update(op="ssm"),
            "arch: stages[0].blocks[0].op: 'ssm' is not a choice (allowed: conv, lstm)",
        ),
        (
            lambda a: a["stages"][0].update(depth=1),
            "arch: stages[0].blocks: expected a list of 1 blocks (depth 1)",
        ),
        (
            lambda a: a["stages"][0]["blocks"][0].update(colour=1),
            "arch: stages[0].blocks[0].colour: unknown key "
         "(allowed: op, kernel, expand, wbits, abits)",
        ),
        (lambda a: a["stem"].pop("abits"), "arch: stem.abits: missing (allowed: 32)"),
        (
            lambda a: a.update(stages=[]),
            "arch: stages: expected a list of 1 stages (the space 'small' has 1)",
        ),
    ],
)
def test_arch_validation_errors(mutate, message: str) -> None:
    space = space_from_dict(SMALL)
    arch = largest_arch(space)
    arch["stages"][0]["blocks"][0] = {
        "op": "conv",
        "kernel": 5,
        "expand": 1,
        "wbits": 32,
        "abits": 32,
    }
    mutate(arch)
    with pytest.raises(ArchError) as info:
        canonical_arch(space, arch)
    assert str(info.value) == message
