"""The ``mamba`` op: a selective state-space block (Mamba-style).

LayerNorm, in-projection to a signal ``u`` and a gate ``z`` (inner width ``E = expand x``
stage width), a depthwise causal convolution of ``u`` (kernel :data:`CONV_KERNEL`) and SiLU,
then the *selective* scan: ``dt``, ``B`` and ``C`` are computed from the convolved signal at
every step (``x_proj``: ``E -> R + 2N``, ``dt_proj``: ``R -> E`` and softplus, with the low
rank ``R = ceil(W / 16)``), ``y = scan(u, dt, A, B, C, D) * silu(z)``, out-projection,
residual. Elastic: stage width, expand ratio and state size ``N`` (first channels, first
states, first ``R`` ranks).

Quantisation as the ``ssm`` op: the in- and out-projections take ``wbits`` weights and
``abits`` inputs; the selective part (convolution, ``x_proj``, ``dt_proj``, ``A``, ``D``) stays
fp32, like the SSM's scan parameters.

Its modules are in :mod:`nasx.ops.mamba_blocks` (they import torch and the supernet, which
import the search space), its schedule in :mod:`nasx.ops.mamba_steps`; its streaming step,
ONNX step graph and export hooks are here; C emitters :mod:`nasx.export.mcu.op_mamba` (kernel
``runtime/nasx_mamba.c``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

from nasx.ops.base import BlockBits, LatencyWork, OpDef
from nasx.ops.runtime_words import scratch_words, words
from nasx.ops.state_space import StateExpandSpace, state_expand_unit

NAME = "mamba"
CONV_KERNEL = 4  # the depthwise causal convolution before the scan (Mamba's d_conv)
RANK_DIVISOR = 16  # dt rank = ceil(width / 16) (Mamba's dt_rank="auto")


def dt_rank(width: int) -> int:
    """The rank ``R`` of the ``dt`` projection of a block in a stage of ``width`` channels."""
    return math.ceil(width / RANK_DIVISOR)


def mix_macs(inner: int, state: int, rank: int) -> int:
    """MACs of the selective part per step: convolution ``E K``, ``x_proj`` ``E (R + 2N)``,
    ``dt_proj`` ``R E`` and the scan ``E (4N + 3)`` (``dt A``, ``exp(dt A) h``,
    ``(dt u) B``, ``C h``, ``D u``, the gate)."""
    return inner * (CONV_KERNEL + 2 * rank + 2 * state + 4 * state + 3)


def mix_params(inner: int, state: int, rank: int) -> int:
    """Parameters of the selective part: convolution weight and bias, ``x_proj``, ``dt_proj``
    weight and bias, ``A_log`` and ``D``."""
    return inner * (CONV_KERNEL + 1 + rank + 2 * state + rank + 1 + state + 1)


class MambaBlock(BlockBits):
    """A ``mamba`` block of an arch: state size and expand ratio."""

    op: Literal["mamba"]
    state: int
    expand: float


class MambaSpace(StateExpandSpace):
    """Selective SSM block; inner width = expand x stage width, state size N."""


def _latency(c: tuple[Any, ...], length: int) -> LatencyWork:
    w, e, n = c
    numel = 3 * w * e  # the quantized projections
    return LatencyWork((numel + mix_macs(e, n, dt_rank(w))) * length, (2 * w + 5 * e) * length,
                       numel, (float(length), e * n * length / 1e3))


def _c_words(c: tuple[Any, ...], n: int) -> list[int]:
    """C runtime words: ``cur + t1``, ``t1 + uz (2LE) + scr(LW) + cur``, ``uz + y (LE) + h (EN)
    + scratch (2E + R + 2N) + cur``, ``y + cur + scr(LE)``."""
    w, e, state, wb, ab = c
    cur, t1, uz, y = words(n * w), words(n * w), words(2 * n * e), words(n * e)
    mix = words(e * state + 2 * e + dt_rank(w) + 2 * state)
    return [cur + t1, t1 + uz + scratch_words(wb, ab, n * w) + cur, uz + y + mix + cur,
            y + cur + scratch_words(wb, ab, n * e)]


# --- export hooks (``b``: a MambaBlock) ----------------------------------------------------

def to_export(m: Any, where: str, head_dim: int) -> Any:
    """The export block of extracted ``m``."""
    from nasx.export.convert import deploy_act, deploy_linear
    from nasx.ops.mamba_blocks import MambaBlock

    wb, ab = m.wbits, m.abits
    return MambaBlock(m.ln.weight, m.ln.bias,
                      deploy_linear(m.in_proj, wb,
                                    deploy_act(m.aq[0], ab, f"{where} (mamba) in_proj")),
                      deploy_linear(m.out_proj, wb,
                                    deploy_act(m.aq[1], ab, f"{where} (mamba) out_proj")),
                      m.mix_params())


def read(r: Any, prefix: str, width: int, block: Mapping[str, Any], spec: Any) -> Any:
    """The export block rebuilt from file tensors."""
    from nasx.ops.mamba_blocks import MambaBlock

    return MambaBlock.read(r, prefix, width, dict(block))


def blocker(b: Any) -> str | None:
    """The convolution and the scan are causal: always streamable."""
    return None


def stream_state(b: Any, prefix: str, batch: int, zeros: Callable[..., Any]) -> dict[str, Any]:
    """The convolution's last ``K - 1`` signal frames ``(B, E, K - 1)`` and the scan state
    ``h (B, E, N)``."""
    e, n = b.A.shape
    return {f"{prefix}.window": zeros(batch, e, CONV_KERNEL - 1), f"{prefix}.h": zeros(batch, e, n)}


def stream_step(b: Any, prefix: str, x: Any, st: dict[str, Any]) -> Any:
    """One frame ``x (B, W)`` -> ``(B, W)``; updates ``st``."""
    y, st[f"{prefix}.window"], st[f"{prefix}.h"] = b.frame(x, st[f"{prefix}.window"],
                                                         st[f"{prefix}.h"])
    return y


def graph_state(b: Any, prefix: str, frames: int) -> list[tuple[str, tuple[int, ...]]]:
    """Fixed-shape state of the ONNX step graph (batch 1)."""
    e, n = b.A.shape
    return [(f"{prefix}.window", (1, e, CONV_KERNEL - 1)), (f"{prefix}.h", (1, e, n))]


def graph_step(b: Any, p: str, x: Any, st: dict[str, Any], new: dict[str, Any],
               keep: Callable[[str, Any], None], live: Any) -> Any:
    """One frame of the ONNX step graph (state written through ``keep``)."""
    y, window, h = b.frame(x, st[f"{p}.window"], st[f"{p}.h"])
    keep(f"{p}.window", window)
    keep(f"{p}.h", h)
    return y


def c_arrays(b: Any, prefix: str) -> dict[str, Any]:
    """The deployed ``A = -exp(A_log)`` ``(E, N)`` (it replaces ``A_log`` in ``model.h``)."""
    return {f"{prefix}.A": b.A}


def c_rows(wr: Any, p: str, b: Any) -> None:
    """Its rows (and arrays) of the C layer table: ``dt_proj`` (a float linear ``R -> E``) and
    ``mix`` (an ``NASX_SSM`` row: ``in = E``, ``kernel = N``, weight ``x_proj``, ``aux`` conv
    weight and bias, ``A``, ``D``; see ``runtime/nasx_mamba.c``)."""
    e, n = b.A.shape
    wr.norm(f"{p}.ln", b.ln_weight, b.ln_bias)
    wr.layer(f"{p}.in_proj", b.in_proj, "NASX_LINEAR", ())
    wr.row(f"{p}.dt_proj", "NASX_LINEAR", (), out=e, inp=b.dt_w.shape[1],
           weight=wr.array(f"{p}.dt_w", b.dt_w), bias=wr.array(f"{p}.dt_b", b.dt_b))
    aux = (wr.array(f"{p}.conv_w", b.conv_w), wr.array(f"{p}.conv_b", b.conv_b),
           wr.array(f"{p}.A", b.A), wr.array(f"{p}.D", b.D))
    wr.row(f"{p}.mix", "NASX_SSM", (), out=e, inp=e, kernel=n,
           weight=wr.array(f"{p}.x_proj", b.x_proj), aux=aux)
    wr.layer(f"{p}.out_proj", b.out_proj, "NASX_LINEAR", ["NASX_RESIDUAL"])


OP = OpDef(
    name=NAME, space_type=MambaSpace, block_type=MambaBlock, yaml_keys=("state", "expand"),
    choice_keys=("state", "expand"), defaults={"state": [8, 16], "expand": [1, 2]},
    parse=MambaSpace.parse, unit=state_expand_unit, latency_work=_latency,
    latency_terms=("steps", "scan"),
    no_decay=("A_log", "D"),
    elastic="nasx.ops.mamba_blocks:ElasticMamba",
    static="nasx.ops.mamba_blocks:StaticMamba",
    export="nasx.ops.mamba_blocks:MambaBlock",
    steps="nasx.ops.mamba_steps:mamba_steps",
    c_emit="nasx.export.mcu.op_mamba:emit", c_emit_step="nasx.export.mcu.op_mamba:emit_step",
    hooks=__name__, c_words=_c_words,
)
