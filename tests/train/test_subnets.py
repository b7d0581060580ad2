"""Which subnets a step trains: seeding by (seed, step), op choice, quant policy, progressive
restriction, and the fixed evaluation subnets."""

from __future__ import annotations

import numpy as np
import pytest

from nasx.config import RunConfig, load_config
from nasx.search_spaces import (
    OP_CHOICE_KEYS,
    canonical_arch,
    largest_arch,
    load_space,
    random_arch,
    smallest_arch,
)
from nasx.train.plan import RunPlan
from nasx.train.subnets import monitor_archs, restricted_space, sandwich_archs, step_rng

SPACE = load_space("hybrid-mcu")


def _blocks(arch: dict) -> list[dict]:
    return [b for st in arch["stages"] for b in st["blocks"]]


def _bits(arch: dict) -> set[tuple[int, int]]:
    layers = [arch["stem"], *arch["stages"], *_blocks(arch)]
    return {(d["wbits"], d["abits"]) for d in layers}


def test_draws_depend_on_seed_and_step_only() -> None:
    a = sandwich_archs(SPACE, step_rng(3, 17), 2, "sample")
    b = sandwich_archs(SPACE, step_rng(3, 17), 2, "sample")
    assert a == b
    assert a != sandwich_archs(SPACE, step_rng(3, 18), 2, "sample")
    assert a != sandwich_archs(SPACE, step_rng(4, 17), 2, "sample")


def test_sample_reproduces_the_space_samplers_in_order() -> None:
    got = sandwich_archs(SPACE, step_rng(0, 5), 2, "sample")
    rng = step_rng(0, 5)
    want = [largest_arch(SPACE, rng), smallest_arch(SPACE, rng), random_arch(SPACE, rng),
            random_arch(SPACE, rng)]
    assert [name for name, _ in got] == ["largest", "smallest", "random-1", "random-2"]
    assert [a for _, a in got] == want


def test_quant_policy_largest_float_smallest_lowest_bits() -> None:
    archs = dict(sandwich_archs(SPACE, step_rng(0, 0), 1, "sample"))
    assert _bits(archs["largest"]) == {(32, 32)}
    assert _bits(archs["smallest"]) == {(4, 8)}
    for name, arch in archs.items():
        assert canonical_arch(SPACE, arch) == arch, name


def test_first_takes_the_first_allowed_op_everywhere() -> None:
    archs = dict(sandwich_archs(SPACE, step_rng(0, 9), 0, "first"))
    assert {b["op"] for b in _blocks(archs["largest"]) + _blocks(archs["smallest"])} == {"conv"}


@pytest.mark.parametrize("step", range(6))
def test_paired_smallest_copies_the_largests_ops_slot_by_slot(step: int) -> None:
    archs = dict(sandwich_archs(SPACE, step_rng(1, step), 0, "paired"))
    big, small = archs["largest"], archs["smallest"]
    for st_big, st_small in zip(big["stages"], small["stages"], strict=True):
        assert [b["op"] for b in st_small["blocks"]] == [
            b["op"] for b in st_big["blocks"][: st_small["depth"]]
        ]
        for b in st_small["blocks"]:  # smallest choices of that op
            spec = SPACE.ops[b["op"]]
            assert all(b[k] == getattr(spec, k)[0] for k in OP_CHOICE_KEYS[b["op"]])
    assert canonical_arch(SPACE, small) == small


def test_restricted_space_fixes_locked_groups_at_their_largest() -> None:
    rng = np.random.default_rng(0)
    # only kernels elastic
    sub = restricted_space(SPACE, 1)
    for _ in range(20):
        a = random_arch(sub, rng)
        assert [st["depth"] for st in a["stages"]] == [2, 3]
        assert [st["width"] for st in a["stages"]] == [32, 64]
        assert (a["stem"]["width"], a["stem"]["stride"]) == (24, 1)
        assert [st["stride"] for st in a["stages"]] == [1, 2]
        assert _bits(a) == {(32, 32)}
        assert canonical_arch(SPACE, a) == a
    smallest = smallest_arch(sub, rng)
    assert smallest["stem"]["kernel"] == 3  # kernels are unlocked
    conv = [b for b in _blocks(smallest) if b["op"] == "conv"]
    assert all(b["kernel"] == 3 and b["expand"] == 4 for b in conv)
    # nothing elastic but the op: the smallest equals the largest but for the op draws
    none = restricted_space(SPACE, 0)
    assert smallest_arch(none, np.random.default_rng(7)) == largest_arch(
        SPACE, np.random.default_rng(7))
    # widths unlocked, bits still locked
    three = restricted_space(SPACE, 3)
    assert _bits(smallest_arch(three, rng)) == {(32, 32)}
    assert smallest_arch(three, np.random.default_rng(2)) == {
        **smallest_arch(SPACE, np.random.default_rng(2)),
        **_with_float_bits(smallest_arch(SPACE, np.random.default_rng(2))),
    }
    assert restricted_space(SPACE, 4) is SPACE


def _with_float_bits(arch: dict) -> dict:
    stem = {**arch["stem"], "wbits": 32, "abits": 32}
    stages = [{**st, "wbits": 32, "abits": 32,
               "blocks": [{**b, "wbits": 32, "abits": 32} for b in st["blocks"]]}
              for st in arch["stages"]]
    return {"stem": stem, "stages": stages}


def test_monitor_archs_are_fixed_and_extend_as_a_prefix() -> None:
    three = monitor_archs(SPACE, 0, 3, "sample")
    assert monitor_archs(SPACE, 0, 3, "sample") == three
    assert monitor_archs(SPACE, 0, 10, "sample")[:5] == three
    assert [n for n, _ in three] == ["largest", "smallest", "random-1", "random-2", "random-3"]
    # a different stream than any training step of the same seed
    assert all(three != sandwich_archs(SPACE, step_rng(0, s), 3, "sample") for s in range(50))


def test_plan_counts_and_shrink_modes() -> None:
    cfg = load_config(RunConfig, None, ["train.epochs=10", "data.batch_size=32",
                                        "train.eps_warmup=2", "train.delay=0.5"])
    plan = RunPlan.from_config(cfg, 216)
    assert (plan.steps_per_epoch, plan.total_steps, plan.warmup_steps) == (7, 70, 7)
    assert [plan.eps(s) for s in (34, 35, 36, 48, 49)] == [0.0, 1 / 14, 2 / 14, 1.0, 1.0]
    capped = RunPlan.from_config(
        load_config(RunConfig, None, ["train.batches_per_epoch=2", "train.epochs=16",
                                       "train.eps_warmup=2", "data.batch_size=32"]), 216)
    assert (capped.steps_per_epoch, capped.total_steps) == (2, 32)
    sandwich = RunPlan.from_config(
        load_config(RunConfig, None, ["train.shrink=sandwich", "train.epochs=5",
                                      "data.batch_size=32"]), 216)
    assert sandwich.eps(0) == 1.0 and sandwich.delay == 0.0
    prog = RunPlan.from_config(
        load_config(RunConfig, None, ["train.shrink=progressive", "train.epochs=10",
                                      "train.eps_warmup=2", "train.delay=0.5",
                                      "data.batch_size=32"]), 216)
    # shrinking steps 35..69 split into 4 phases: 35-43, 44-52, 53-61, 62-69
    assert [prog.unlocked_groups(s) for s in (0, 34, 35, 43, 44, 52, 53, 61, 62, 69)] == [
        0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert plan.unlocked_groups(0) == 4
    with pytest.raises(ValueError, match=r"^train\.epochs is still 'auto'; resolve the config "):
        RunPlan.from_config(load_config(RunConfig, None, []), 216)
    small = dict(prog.archs(SPACE, 36))["smallest"]
    assert [st["depth"] for st in small["stages"]] == [2, 3]  # depth not yet unlocked
    assert small["stem"]["kernel"] == 3
