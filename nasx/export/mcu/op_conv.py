"""C emitter of the MBConv block: pointwise expand + ReLU, depthwise conv + ReLU ('same' or
causal), pointwise project added to the block input (``nasx_conv.c``)."""

from __future__ import annotations

from nasx.export.blocks import MBConvBlock
from nasx.export.mcu.arena import Emitter


def emit(em: Emitter, prefix: str, block: MBConvBlock, cur: str, length: int,
         width: int) -> None:
    """Calls computing ``cur (n, width)`` <- block(``cur``) in place."""
    hidden = int(block.pw1.weight.shape[0])
    em.conv(block.pw1, f"{prefix}.pw1", cur, length, width, "t1")
    em.conv(block.dw, f"{prefix}.dw", "t1", length, hidden, "t2")
    em.conv(block.pw2, f"{prefix}.pw2", "t2", length, hidden, cur, residual=True)
