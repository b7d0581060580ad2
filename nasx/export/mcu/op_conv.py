"""C emitter of the MBConv block: pointwise expand + ReLU, depthwise conv + ReLU ('same' or
causal), pointwise project added to the block input (``nasx_conv.c``)."""

from __future__ import annotations

from nasx.export.blocks import MBConvBlock
from nasx.export.mcu.arena import Emitter, int_path


def emit(em: Emitter, prefix: str, block: MBConvBlock, cur: str, length: int,
         width: int) -> None:
    """Calls computing ``cur (n, width)`` <- block(``cur``) in place. With int8 weights and
    activations the chain stays int8: the input is quantized once, pw1 and dw requantise their
    int32 sums in fixed point straight into the next layer's grid, pw2 adds its float output
    to the block input."""
    hidden = int(block.pw1.weight.shape[0])
    if int_path(block.pw1):
        key = prefix.replace(".", "_")
        q = em.quantize(f"{prefix}.pw1", cur, length, width)
        q1, q2 = em.new_int8("q1", length * hidden), em.new_int8("q2", length * hidden)
        em.conv_int8(block.pw1, f"{prefix}.pw1", q, q1,
                     requant=em.requant(block.pw1, block.dw, f"{key}_pw1"))
        em.conv_int8(block.dw, f"{prefix}.dw", q1, q2,
                     requant=em.requant(block.dw, block.pw2, f"{key}_dw"))
        em.conv_int8(block.pw2, f"{prefix}.pw2", q2, cur, residual=True)
        return
    t1, t2 = em.new("t1", length * hidden), em.new("t2", length * hidden)
    em.conv(block.pw1, f"{prefix}.pw1", cur, length, width, t1)
    em.conv(block.dw, f"{prefix}.dw", t1, length, hidden, t2)
    em.conv(block.pw2, f"{prefix}.pw2", t2, length, hidden, cur, residual=True)


def emit_step(em: Emitter, prefix: str, block: MBConvBlock, cur: str, width: int,
              capacity: int) -> None:
    """One frame ``cur (width)`` <- block(``cur``): the depthwise conv keeps its last
    ``kernel`` frames of the expanded width (streaming state)."""
    del capacity  # no cache grows with the sequence
    hidden, k = int(block.pw1.weight.shape[0]), int(block.dw.weight.shape[-1])
    t1, t2 = em.new("t1", hidden), em.new("t2", hidden)
    em.window_conv(block.pw1, f"{prefix}.pw1", cur, width, t1)
    win = em.persistent(f"{prefix.replace('.', '_')}_dw_window", k * hidden)
    em.emit(f"nasx_window_push({win}, {k}, {hidden}, {t1});")
    em.window_conv(block.dw, f"{prefix}.dw", win, hidden, t2)
    em.window_conv(block.pw2, f"{prefix}.pw2", t2, hidden, cur, residual=True)
