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
conv       int: ``cur + q``, ``q + q1 + cur``, ``q1 + q2 + cur``, ``q2 + cur``;
           float: ``cur + t1 + scr(LW)``, ``t1 + t2 + scr(LH) + cur``, ``t2 + cur + scr(LH)``
lstm       ``cur + t1``, ``t1 + gates (4LH) + scr(LW) + cur``, ``gates + out (LH) + hc (2H) +
           cur``, ``out + cur + scr(LH)``
ssm        ``cur + t1``, ``t1 + uz (2LE) + scr(LW) + cur``, ``uz + y (LE) + h (EN) + cur``,
           ``y + cur + scr(LE)``
attn       ``cur + t1``, ``t1 + qkv (3LI) + scr(LW) + cur``, ``qkv + o (LI) + scores (L) +
           cur``, ``o + cur + scr(LI)``, ``cur + t4``, ``t4 + ffn (LF) + scr(LW) + cur``,
           ``ffn + cur + scr(LF)``
head       ``cur + pool (W)``, ``pool``
=========  =================================================================================
"""

from __future__ import annotations

from typing import Any

WORD = 4
RAW_INPUT = 0  # in_elem of the stem: the raw input (the runtime's x0 copy is counted)
INT8_STEM = 1  # in_elem after an int-path stem: its conv's output is decided by the entry conv
FLOAT_ACT = 4  # in_elem of a float stage activation


def int_path(wbits: int, abits: int) -> bool:
    """Whether the runtime computes a layer as int8 x int8 -> int32."""
    return wbits <= 8 and abits <= 8


def scratch_words(wbits: int, abits: int, count: int) -> int:
    """Words of a layer's quantized-input scratch for ``count`` inputs."""
    if int_path(wbits, abits):
        return -(-count // WORD)
    return count if abits < 32 else 0


def _words(count: int) -> int:
    return max(count, 1)


def _int8_words(count: int) -> int:
    return max(-(-count // WORD), 1)


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


def _block(unit: tuple[Any, ...], length: int) -> list[int]:
    kind, w = unit[0], unit[1]
    wb, ab = unit[-2], unit[-1]
    n = length
    cur = _words(n * w)

    def scr(count: int) -> int:
        return scratch_words(wb, ab, count)

    if kind == "conv":
        hidden = unit[2]
        if int_path(wb, ab):
            q, q1 = _int8_words(n * w), _int8_words(n * hidden)
            return [cur + q, q + q1 + cur, 2 * q1 + cur, q1 + cur]
        t = _words(n * hidden)
        return [cur + t + scr(n * w), 2 * t + scr(n * hidden) + cur, t + cur + scr(n * hidden)]
    t1 = _words(n * w)
    if kind == "lstm":
        h = unit[2]
        gates, out = _words(4 * n * h), _words(n * h)
        return [cur + t1, t1 + gates + scr(n * w) + cur, gates + out + _words(2 * h) + cur,
                out + cur + scr(n * h)]
    if kind == "ssm":
        e, state = unit[2], unit[3]
        uz, y = _words(2 * n * e), _words(n * e)
        return [cur + t1, t1 + uz + scr(n * w) + cur, uz + y + _words(e * state) + cur,
                y + cur + scr(n * e)]
    heads, head_dim, ffn = unit[2], unit[3], unit[4]
    inner = heads * head_dim
    qkv, o, hid = _words(3 * n * inner), _words(n * inner), _words(n * ffn)
    return [cur + t1, t1 + qkv + scr(n * w) + cur, qkv + o + _words(n) + cur,
            o + cur + scr(n * inner), cur + t1, t1 + hid + scr(n * w) + cur,
            hid + cur + scr(n * ffn)]


def unit_live_words(unit: tuple[Any, ...], in_elem: int, length: int, net_channels: int,
                    net_length: int) -> tuple[list[int], int]:
    """``(words live in each of the unit's statements, in_elem of the next unit)`` for a
    cost-model unit (:meth:`~nasx.predictors.CostModel.units`) whose input has ``length``
    steps; ``in_elem`` is :data:`RAW_INPUT` for the stem, else what the unit before returned.
    ``net_channels``/``net_length``: the network input's."""
    kind = unit[0]
    if kind == "convbn":
        if in_elem == RAW_INPUT:
            return _stem(unit, length)
        return _entry(unit, in_elem, length, net_channels, net_length), FLOAT_ACT
    if kind == "head":
        width = unit[1]
        pool = _words(width)
        return [_words(length * width) + pool, pool], FLOAT_ACT
    return _block(unit, length), FLOAT_ACT
