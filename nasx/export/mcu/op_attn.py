"""C emitter of the attention block: pre-norm multi-head attention with the valid-length mask
(``nasx_attention.c``) added to the block input, then the pre-norm GELU FFN added to that."""

from __future__ import annotations

from nasx.export.blocks import AttentionBlock
from nasx.export.mcu.arena import Emitter


def emit(em: Emitter, prefix: str, block: AttentionBlock, cur: str, length: int,
         width: int) -> None:
    """Calls computing ``cur (n, width)`` <- block(``cur``) in place."""
    inner, ffn = block.heads * block.head_dim, int(block.fc1.weight.shape[0])
    t1, qkv = em.new("t1", length * width), em.new("qkv", length * 3 * inner)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln1')}, {cur}, n, {t1});")
    em.conv(block.qkv, f"{prefix}.qkv", t1, length, width, qkv)  # (n, 3 inner)
    t3, scores = em.new("t3", length * inner), em.new("scores", length)
    em.emit(f"nasx_attention({em.layer(f'{prefix}.sdpa')}, {qkv}, n, {t3}, {scores});")
    em.conv(block.o, f"{prefix}.o", t3, length, inner, cur, residual=True)
    t4, hid = em.new("t4", length * width), em.new("ffn", length * ffn)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln2')}, {cur}, n, {t4});")
    em.conv(block.fc1, f"{prefix}.fc1", t4, length, width, hid)  # (n, ffn), GELU
    em.conv(block.fc2, f"{prefix}.fc2", hid, length, ffn, cur, residual=True)


def emit_step(em: Emitter, prefix: str, block: AttentionBlock, cur: str, width: int,
              capacity: int) -> None:
    """One frame ``cur (width)`` <- block(``cur``): its key and value join a cache of up to
    ``capacity`` frames (streaming state); the step fails (-1) once the cache is full."""
    inner = block.heads * block.head_dim
    key = prefix.replace(".", "_")
    cache = em.persistent(f"{key}_kv", capacity * 2 * inner)  # rows [k | v]
    count = em.counter(f"{key}_frames")
    t1, qkv = em.new("t1", width), em.new("qkv", 3 * inner)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln1')}, {cur}, 1, {t1});")
    em.conv(block.qkv, f"{prefix}.qkv", t1, 1, width, qkv)  # [q | k | v]
    em.emit(f"if ({count} >= {capacity}) return -1;")
    em.emit(f"for (i = 0; i < {2 * inner}; ++i) "
            f"{cache}[(size_t){count} * {2 * inner} + i] = {qkv}[{inner} + i];")
    em.emit(f"{count} += 1;")
    t3, scores = em.new("t3", inner), em.new("scores", capacity)
    em.emit(f"nasx_attention_row({em.layer(f'{prefix}.sdpa')}, {qkv}, {cache}, "
            f"{cache} + {inner}, {2 * inner}, {count}, {t3}, {scores});")
    em.conv(block.o, f"{prefix}.o", t3, 1, inner, cur, residual=True)
    ffn = int(block.fc1.weight.shape[0])
    t4, hid = em.new("t4", width), em.new("ffn", ffn)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln2')}, {cur}, 1, {t4});")
    em.conv(block.fc1, f"{prefix}.fc1", t4, 1, width, hid)
    em.conv(block.fc2, f"{prefix}.fc2", hid, 1, ffn, cur, residual=True)
