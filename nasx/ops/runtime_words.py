"""Word counts of the nasx C runtime's arena buffers (pure Python, no torch).

An op's :attr:`~nasx.ops.base.OpDef.c_words` lists the words live in each statement the C
emitter writes for its block; these are the sizes it builds them from. Sizes are 4-byte words:
the runtime keeps activations in float except inside an int8 conv chain, and int8 buffers are
rounded up to whole words (:mod:`nasx.predictors.runtime_memory`).
"""

from __future__ import annotations

WORD = 4  # bytes of an arena word


def int_path(wbits: int, abits: int) -> bool:
    """Whether the runtime computes a layer as int8 x int8 -> int32."""
    return wbits <= 8 and abits <= 8


def scratch_words(wbits: int, abits: int, count: int) -> int:
    """Words of a layer's quantized-input scratch for ``count`` inputs: ``ceil(count / 4)`` on
    the int path, ``count`` with ``abits < 32``, else 0."""
    if int_path(wbits, abits):
        return -(-count // WORD)
    return count if abits < 32 else 0


def words(count: int) -> int:
    """Words of a float buffer of ``count`` values (at least one)."""
    return max(count, 1)


def int8_words(count: int) -> int:
    """Words of an int8 buffer of ``count`` codes (at least one)."""
    return max(-(-count // WORD), 1)
