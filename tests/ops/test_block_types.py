"""Per-op block types (issue 19): each op's TypedDict names exactly the keys its blocks carry,
the arch type's block union lists every op's, and sampled and canonical archs fit them."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from nasx.ops import OP_MODULES, OPS, Block, BlockBits
from nasx.search_spaces import (
    canonical_arch,
    largest_arch,
    load_space,
    preset_names,
    random_arch,
    smallest_arch,
)

SCALAR = {int: (int,), float: (int, float)}  # an integral ratio is stored as an int


@pytest.mark.parametrize("name", OP_MODULES)
def test_block_type_has_the_ops_keys(name: str) -> None:
    op = OPS[name]
    assert op.block_type is not None, f"ops/{name}.py: OpDef(block_type=...) is missing"
    assert issubclass(op.block_type, dict)
    assert op.block_type.__required_keys__ == {"op", "wbits", "abits", *op.choice_keys}
    assert op.block_type.__optional_keys__ == frozenset()
    hints = typing.get_type_hints(op.block_type)
    assert typing.get_args(hints["op"]) == (name,)  # op: Literal["<name>"]
    assert hints["wbits"] is int and hints["abits"] is int
    assert set(typing.get_type_hints(BlockBits)) == {"wbits", "abits"}


def test_the_block_union_is_every_ops_block_type() -> None:
    assert typing.get_args(Block) == tuple(OPS[n].block_type for n in OP_MODULES)


def _check_blocks(arch: dict) -> int:
    """Assert every block fits its op's block type; return how many blocks there were."""
    n = 0
    for stage in arch["stages"]:
        for block in stage["blocks"]:
            block_type = OPS[block["op"]].block_type
            hints = typing.get_type_hints(block_type)
            assert set(block) == set(hints), block
            for key, hint in hints.items():
                if key != "op":
                    assert isinstance(block[key], SCALAR[hint]), (key, block[key])
                    assert not isinstance(block[key], bool), (key, block[key])
            n += 1
    return n


@pytest.mark.parametrize("preset", preset_names())
def test_sampled_and_canonical_archs_fit_the_block_types(preset: str) -> None:
    space = load_space(preset)
    rng = np.random.default_rng(0)
    archs = [largest_arch(space), smallest_arch(space),
             *(random_arch(space, rng) for _ in range(30))]
    seen: set[str] = set()
    for arch in archs:
        assert _check_blocks(arch) > 0
        assert _check_blocks(canonical_arch(space, arch)) > 0
        seen |= {b["op"] for st in arch["stages"] for b in st["blocks"]}
    allowed = {op for st in space.stages for op in st.ops}
    assert seen == allowed  # every op of the preset was checked
