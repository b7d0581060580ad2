"""C emitter of the mamba block: LayerNorm, in-projection to ``[u | z]`` (``nasx_conv.c``), the
convolution, selective scan and gate (``nasx_mamba.c``, float), out-projection added to the
block input."""

from __future__ import annotations

from nasx.export.mcu.arena import Emitter
from nasx.ops.mamba import CONV_KERNEL
from nasx.ops.mamba_blocks import MambaBlock


def _sizes(block: MambaBlock) -> tuple[int, int, int]:
    """``(E, N, R)``: inner width, state size, dt rank."""
    e, n = (int(v) for v in block.A.shape)
    return e, n, int(block.dt_w.shape[1])


def emit(em: Emitter, prefix: str, block: MambaBlock, cur: str, length: int,
         width: int) -> None:
    """Calls computing ``cur (n, width)`` <- block(``cur``) in place."""
    e, n, r = _sizes(block)
    t1, t2 = em.new("t1", length * width), em.new("t2", length * 2 * e)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln')}, {cur}, n, {t1});")
    em.conv(block.in_proj, f"{prefix}.in_proj", t1, length, width, t2)  # (n, 2E)
    t3, h = em.new("t3", length * e), em.new("h", e * n + 2 * e + r + 2 * n)  # state, scratch
    em.emit(f"nasx_mamba({em.layer(f'{prefix}.mix')}, {em.layer(f'{prefix}.dt_proj')}, "
            f"{CONV_KERNEL}, {t2}, n, {t3}, {h}, {h} + {e * n});")
    em.conv(block.out_proj, f"{prefix}.out_proj", t3, length, e, cur, residual=True)


def emit_step(em: Emitter, prefix: str, block: MambaBlock, cur: str, width: int,
              capacity: int) -> None:
    """One frame ``cur (width)`` <- block(``cur``); the conv window ``(K, E)`` and the state
    ``(E, N)`` persist."""
    del capacity
    e, n, r = _sizes(block)
    key = prefix.replace(".", "_")
    win = em.persistent(f"{key}_window", CONV_KERNEL * e)
    state = em.persistent(f"{key}_h", e * n)
    t1, t2, t3 = em.new("t1", width), em.new("t2", 2 * e), em.new("t3", e)
    scratch = em.new("ms", 2 * e + r + 2 * n)
    em.emit(f"nasx_layernorm({em.layer(f'{prefix}.ln')}, {cur}, 1, {t1});")
    em.conv(block.in_proj, f"{prefix}.in_proj", t1, 1, width, t2)
    em.emit(f"nasx_window_push({win}, {CONV_KERNEL}, {e}, {t2});")  # the signal u
    em.emit(f"nasx_mamba_step({em.layer(f'{prefix}.mix')}, {em.layer(f'{prefix}.dt_proj')}, "
            f"{CONV_KERNEL}, {win}, {t2} + {e}, {t3}, {state}, {scratch});")
    em.conv(block.out_proj, f"{prefix}.out_proj", t3, 1, e, cur, residual=True)
