"""C emitter of the SSM block: LayerNorm, in-projection to ``[u | z]`` (``nasx_conv.c``), the
diagonal scan gated by ``silu(z)`` (``nasx_ssm.c``), out-projection added to the block input."""

from __future__ import annotations

from nasx.export.blocks import SSMBlock
from nasx.export.mcu.arena import Emitter


def emit(em: Emitter, prefix: str, block: SSMBlock, cur: str, length: int,
         width: int) -> None:
    """Calls computing ``cur (n, width)`` <- block(``cur``) in place."""
    inner, state = (int(v) for v in block.A.shape)
    em.buf("t1", length * width)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln')}, {cur}, n, t1);")
    em.conv(block.in_proj, f"{prefix}.in_proj", "t1", length, width, "t2")  # (n, 2E)
    em.buf("t3", length * inner)
    em.buf("state", inner * state)
    em.emit(f"nasx_ssm({em.layer(f'{prefix}.scan')}, t2, n, t3, state);")
    em.conv(block.out_proj, f"{prefix}.out_proj", "t3", length, inner, cur, residual=True)
