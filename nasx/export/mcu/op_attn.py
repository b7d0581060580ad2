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


def emit_step(em: Emitter, prefix: str, block: AttentionBlock, cur: str, width: int,
              capacity: int) -> None:
    """One frame ``cur (width)`` <- block(``cur``): its key and value join a cache of up to
    ``capacity`` frames (streaming state); the step fails (-1) once the cache is full."""
    inner = block.heads * block.head_dim
    key = prefix.replace(".", "_")
    cache = em.persistent(f"{key}_kv", capacity * 2 * inner)  # rows [k | v]
    count = em.counter(f"{key}_frames")
    em.buf("t1", width)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln1')}, {cur}, 1, t1);")
    em.conv(block.qkv, f"{prefix}.qkv", "t1", 1, width, "t2")  # [q | k | v]
    em.emit(f"if ({count} >= {capacity}) return -1;")
    em.emit(f"for (i = 0; i < {2 * inner}; ++i) "
            f"{cache}[(size_t){count} * {2 * inner} + i] = t2[{inner} + i];")
    em.emit(f"{count} += 1;")
    em.buf("t3", inner)
    em.buf("scores", capacity)
    em.emit(f"nasx_attention_row({em.layer(f'{prefix}.sdpa')}, t2, {cache}, {cache} + {inner}, "
            f"{2 * inner}, {count}, t3, scores);")
    em.conv(block.o, f"{prefix}.o", "t3", 1, inner, cur, residual=True)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln2')}, {cur}, 1, t1);")
    em.conv(block.fc1, f"{prefix}.fc1", "t1", 1, width, "t2")
    em.conv(block.fc2, f"{prefix}.fc2", "t2", 1, int(block.fc1.weight.shape[0]), cur,
            residual=True)
