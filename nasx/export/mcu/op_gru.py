"""C emitter of the GRU block: LayerNorm, input gates ``W_ih x + b_ih`` for every step
(``nasx_conv.c``), the recurrence (``nasx_gru.c``), projection added to the block input."""

from __future__ import annotations

from nasx.export.mcu.arena import Emitter
from nasx.ops.gru_blocks import GATES, GRUBlock


def emit(em: Emitter, prefix: str, block: GRUBlock, cur: str, length: int,
         width: int) -> None:
    """Calls computing ``cur (n, width)`` <- block(``cur``) in place."""
    hidden = block.hidden
    t1, t2 = em.new("t1", length * width), em.new("t2", length * GATES * hidden)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln')}, {cur}, n, {t1});")
    em.conv(block.ih, f"{prefix}.ih", t1, length, width, t2)  # (n, 3H)
    t3, state = em.new("t3", length * hidden), em.new("hg", (1 + GATES) * hidden)  # h, gh
    em.emit(f"nasx_gru({em.layer(f'{prefix}.hh')}, {t2}, n, {t3}, {state}, "
            f"{state} + {hidden});")
    em.conv(block.proj, f"{prefix}.proj", t3, length, hidden, cur, residual=True)


def emit_step(em: Emitter, prefix: str, block: GRUBlock, cur: str, width: int,
              capacity: int) -> None:
    """One frame ``cur (width)`` <- block(``cur``); ``h`` is streaming state."""
    del capacity
    hidden = block.hidden
    state = em.persistent(f"{prefix.replace('.', '_')}_h", hidden)
    t1, t2 = em.new("t1", width), em.new("t2", GATES * hidden)
    gh = em.new("gh", GATES * hidden)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln')}, {cur}, 1, {t1});")
    em.conv(block.ih, f"{prefix}.ih", t1, 1, width, t2)
    em.emit(f"nasx_gru_step({em.layer(f'{prefix}.hh')}, {t2}, {gh}, {state});")
    em.conv(block.proj, f"{prefix}.proj", state, 1, hidden, cur, residual=True)
