"""Peak SRAM of a subnet as the nasx C runtime holds it (whole sequence), for MCU devices.

``nasx export --format c`` writes ``model.c`` as one statement per op over arena buffers
(:mod:`nasx.export.mcu.emit`); a buffer is live from the first to the last statement that names
it and the planner packs them (:mod:`nasx.export.mcu.planner`). This module lists, per unit,
the same statements and the words live in each, so the cost model's peak is the planner's
lower bound by construction (a test checks the two on random subnets). Sizes are 4-byte words:
the runtime keeps activations in float except inside an int8 conv chain, and int8 buffers are
rounded up to whole words.

Buffers per unit (``L`` its input length, ``W`` its width, ``cur`` the stage activation
``L x W`` floats, live through the whole stage; ``scr(n)`` a layer's quantized-input scratch:
``ceil(n / 4)`` words on the int path (wbits and abits <= 8), ``n`` with abits < 32, else 0):

=========  =================================================================================
stem       ``normalize``: ``x0 (L0 x C)``; int path: ``quantize`` ``x0 + q (L0 x C int8)``,
           then its conv into ``qa`` (int8, when the first entry conv is int too) or floats,
           counted with the entry conv; float path: ``x0 + act + scr``
entry      ``cur + next (ceil(L / stride) x W') + scr`` (no scratch after an int8 ``qa``)
block      its op's :attr:`~nasx.ops.base.OpDef.c_words` (e.g. ``nasx/ops/lstm.py``: ``cur +
           t1``, ``t1 + gates (4LH) + scr(LW) + cur``, ``gates + out (LH) + hc (2H) + cur``,
           ``out + cur + scr(LH)``); None for an op the C runtime has no kernel for
head       ``cur + pool (W)``, ``pool``
=========  =================================================================================
"""

from __future__ import annotations

from typing import Any

from nasx.ops import OPS
from nasx.ops.runtime_words import WORD, int_path, scratch_words
from nasx.ops.runtime_words import int8_words as _int8_words
from nasx.ops.runtime_words import words as _words

__all__ = ["FLOAT_ACT", "INT8_STEM", "RAW_INPUT", "WORD", "int_path", "scratch_words",
           "unit_live_words"]

RAW_INPUT = 0  # in_elem of the stem: the raw input (the runtime's x0 copy is counted)
INT8_STEM = 1  # in_elem after an int-path stem: its conv's output is decided by the entry conv
FLOAT_ACT = 4  # in_elem of a float stage activation


def _entry(unit: tuple[Any, ...], in_elem: int, length: int, net_channels: int,
           net_length: int) -> list[int]:
    _, cin, cout, _, stride, wb, ab = unit
    nxt = _words(-(-length // stride) * cout)
    if in_elem != INT8_STEM:
        return [_words(length * cin) + nxt + scratch_words(wb, ab, length * cin)]
    q = _int8_words(net_length * net_channels)  # the stem's quantized input
    if int_path(wb, ab):  # stem -> qa (int8, requantised into this grid) -> next
        qa = _int8_words(length * cin)
        return [q + qa, qa + nxt]
    act = _words(length * cin)  # the stem's float output
    return [q + act, act + nxt + scratch_words(wb, ab, length * cin)]


def _stem(unit: tuple[Any, ...], length: int) -> tuple[list[int], int]:
    _, cin, cout, _, stride, wb, ab = unit
    x0 = _words(length * cin)
    if int_path(wb, ab):
        return [x0, x0 + _int8_words(length * cin)], INT8_STEM
    act = _words(-(-length // stride) * cout)
    return [x0, x0 + act + scratch_words(wb, ab, length * cin)], FLOAT_ACT


def unit_live_words(unit: tuple[Any, ...], in_elem: int, length: int, net_channels: int,
                    net_length: int) -> tuple[list[int] | None, int]:
    """``(words live in each of the unit's statements, in_elem of the next unit)`` for a
    cost-model unit (:meth:`~nasx.predictors.CostModel.units`) whose input has ``length``
    steps; ``in_elem`` is :data:`RAW_INPUT` for the stem, else what the unit before returned.
    ``net_channels``/``net_length``: the network input's. None for a block whose op the C
    runtime has no kernel for."""
    kind = unit[0]
    if kind == "convbn":
        if in_elem == RAW_INPUT:
            return _stem(unit, length)
        return _entry(unit, in_elem, length, net_channels, net_length), FLOAT_ACT
    if kind == "head":
        width = unit[1]
        pool = _words(width)
        return [_words(length * width) + pool, pool], FLOAT_ACT
    c_words = OPS[kind].c_words
    return (None if c_words is None else c_words(unit[1:], length)), FLOAT_ACT
