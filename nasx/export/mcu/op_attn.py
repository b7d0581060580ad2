"""C emitter of the attention block: pre-norm multi-head attention with the valid-length mask
(``nasx_attention.c``) added to the block input, then the pre-norm GELU FFN added to that."""

from __future__ import annotations

from nasx.export.blocks import AttentionBlock
from nasx.export.mcu.arena import Emitter


def emit(em: Emitter, prefix: str, block: AttentionBlock, cur: str, length: int,
         width: int) -> None:
    """Calls computing ``cur (n, width)`` <- block(``cur``) in place."""
    inner, ffn = block.heads * block.head_dim, int(block.fc1.weight.shape[0])
    em.buf("t1", length * width)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln1')}, {cur}, n, t1);")
    em.conv(block.qkv, f"{prefix}.qkv", "t1", length, width, "t2")  # (n, 3 inner)
    em.buf("t3", length * inner)
    em.buf("scores", length)
    em.emit(f"nasx_attention({em.layer(f'{prefix}.sdpa')}, t2, n, t3, scores);")
    em.conv(block.o, f"{prefix}.o", "t3", length, inner, cur, residual=True)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln2')}, {cur}, n, t1);")
    em.conv(block.fc1, f"{prefix}.fc1", "t1", length, width, "t2")  # (n, ffn), GELU
    em.conv(block.fc2, f"{prefix}.fc2", "t2", length, ffn, cur, residual=True)
