"""C emitter of the SSM block: LayerNorm, in-projection to ``[u | z]`` (``nasx_conv.c``), the
diagonal scan gated by ``silu(z)`` (``nasx_ssm.c``), out-projection added to the block input."""

from __future__ import annotations

from nasx.export.blocks import SSMBlock
from nasx.export.mcu.arena import Emitter


def emit(em: Emitter, prefix: str, block: SSMBlock, cur: str, length: int,
         width: int) -> None:
    """Calls computing ``cur (n, width)`` <- block(``cur``) in place."""
    inner, state = (int(v) for v in block.A.shape)
    t1, t2 = em.new("t1", length * width), em.new("t2", length * 2 * inner)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln')}, {cur}, n, {t1});")
    em.conv(block.in_proj, f"{prefix}.in_proj", t1, length, width, t2)  # (n, 2E)
    t3, h = em.new("t3", length * inner), em.new("h", inner * state)
    em.emit(f"nasx_ssm({em.layer(f'{prefix}.scan')}, {t2}, n, {t3}, {h});")
    em.conv(block.out_proj, f"{prefix}.out_proj", t3, length, inner, cur, residual=True)


def emit_step(em: Emitter, prefix: str, block: SSMBlock, cur: str, width: int,
              capacity: int) -> None:
    """One frame ``cur (width)`` <- block(``cur``); the SSM state ``(E, N)`` persists."""
    del capacity
    inner, n = (int(v) for v in block.A.shape)
    state = em.persistent(f"{prefix.replace('.', '_')}_h", inner * n)
    t1, t2, t3 = em.new("t1", width), em.new("t2", 2 * inner), em.new("t3", inner)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln')}, {cur}, 1, {t1});")
    em.conv(block.in_proj, f"{prefix}.in_proj", t1, 1, width, t2)
    em.emit(f"nasx_ssm_step({em.layer(f'{prefix}.scan')}, {t2}, {t3}, {state});")
    em.conv(block.out_proj, f"{prefix}.out_proj", t3, 1, inner, cur, residual=True)
