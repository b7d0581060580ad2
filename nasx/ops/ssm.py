"""The ``ssm`` op: LayerNorm, in-projection to signal ``u`` and gate ``z``, diagonal S4D-style
state-space scan (inner width = expand x stage width, state N), ``y * silu(z)``,
out-projection, residual.

Supernet block :class:`~nasx.supernet.ssm_block.ElasticSSM`, export block
:class:`~nasx.export.blocks.SSMBlock`, schedule :func:`~nasx.ops.ssm_steps.ssm_steps`,
C emitters :mod:`nasx.export.mcu.op_ssm`; its streaming step, ONNX step graph and C header
rows are here (torch imported inside the functions, as in :mod:`nasx.ops.conv`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from nasx.ops.base import BlockBits, LatencyWork, OpDef
from nasx.ops.runtime_words import scratch_words, words
from nasx.ops.state_space import StateExpandSpace, state_expand_unit

NAME = "ssm"


class SSMBlock(BlockBits):
    """An ``ssm`` block of an arch: state size and expand ratio."""

    op: Literal["ssm"]
    state: int
    expand: float
# nasx.kernels.ssm_scan: a direct causal convolution up to this length, then FFT.
DIRECT_SCAN_MAX_LEN = 128


class SSMSpace(StateExpandSpace):
    """Diagonal S4D-style state-space block; inner width = expand x stage width."""


def _scan_work(inner: int, length: int) -> float:
    if length <= DIRECT_SCAN_MAX_LEN:
        return inner * length * length
    n = 2 * length
    return inner * n * math.log2(n)


def _latency(c: tuple[Any, ...], length: int) -> LatencyWork:
    w, e, n = c
    numel = 3 * w * e
    return LatencyWork(numel * length, (2 * w + 4 * e) * length, numel,
                       (_scan_work(e, length) / 1e3, e * n * length / 1e3))


def _c_words(c: tuple[Any, ...], n: int) -> list[int]:
    """C runtime words: ``cur + t1``, ``t1 + uz (2LE) + scr(LW) + cur``, ``uz + y (LE) + h (EN)
    + cur``, ``y + cur + scr(LE)``."""
    w, e, state, wb, ab = c
    cur, t1, uz, y = words(n * w), words(n * w), words(2 * n * e), words(n * e)
    return [cur + t1, t1 + uz + scratch_words(wb, ab, n * w) + cur,
            uz + y + words(e * state) + cur, y + cur + scratch_words(wb, ab, n * e)]


# --- export hooks (``b``: an SSMBlock) -----------------------------------------------------

def to_export(m: Any, where: str, head_dim: int) -> Any:
    """The export block of extracted ``m``."""
    from nasx.export.blocks import SSMBlock
    from nasx.export.convert import deploy_act, deploy_linear

    wb, ab = m.wbits, m.abits
    params = {k: getattr(m, k) for k in ("A_log", "log_dt", "B", "C", "D")}
    return SSMBlock(m.ln.weight, m.ln.bias,
                    deploy_linear(m.in_proj, wb, deploy_act(m.aq[0], ab, f"{where} (ssm) in_proj")),
                    deploy_linear(m.out_proj, wb,
                                  deploy_act(m.aq[1], ab, f"{where} (ssm) out_proj")),
                    params)


def read(r: Any, prefix: str, width: int, block: SSMBlock, spec: Any) -> Any:
    """The export block rebuilt from file tensors."""
    from nasx.export.blocks import SSMBlock

    return SSMBlock.read(r, prefix, width, dict(block))


def blocker(b: Any) -> str | None:
    """The scan is causal: always streamable."""
    return None


def stream_state(b: Any, prefix: str, batch: int, zeros: Callable[..., Any]) -> dict[str, Any]:
    """The state ``h (B, E, N)``."""
    return {f"{prefix}.h": zeros(batch, *b.A.shape)}


def stream_step(b: Any, prefix: str, x: Any, st: dict[str, Any]) -> Any:
    """One frame ``x (B, W)`` -> ``(B, W)``: ``h = exp(dt A) h + dt B u``; updates ``st``."""
    import torch.nn.functional as F

    from nasx.kernels.ssm_scan import ssm_step

    h = b.in_proj.a(F.layer_norm(x, (x.shape[-1],), b.ln_weight, b.ln_bias))
    u, z = F.linear(h, b.in_proj.w(), b.in_proj.bias).chunk(2, dim=-1)  # (B, E) x2
    y, st[f"{prefix}.h"] = ssm_step(u, st[f"{prefix}.h"], b.dt, b.A, b.B, b.C, b.D)
    y = b.out_proj.a(y * F.silu(z))
    return x + F.linear(y, b.out_proj.w(), b.out_proj.bias)


def graph_state(b: Any, prefix: str, frames: int) -> list[tuple[str, tuple[int, ...]]]:
    """Fixed-shape state of the ONNX step graph (batch 1)."""
    return [(f"{prefix}.h", (1, *b.A.shape))]


def graph_step(b: Any, p: str, x: Any, st: dict[str, Any], new: dict[str, Any],
               keep: Callable[[str, Any], None], live: Any) -> Any:
    """One frame of the ONNX step graph (state written through ``keep``)."""
    import torch
    import torch.nn.functional as F

    h = b.in_proj.a(F.layer_norm(x, (x.shape[-1],), b.ln_weight, b.ln_bias))
    u, z = F.linear(h, b.in_proj.w(), b.in_proj.bias).chunk(2, dim=-1)  # (1, E)
    state = torch.exp(b.dtA) * st[f"{p}.h"] + (b.dt.unsqueeze(-1) * b.B) * u[..., None]
    keep(f"{p}.h", state)
    y = (state * b.C).sum(-1) + b.D * u
    y = b.out_proj.a(y * F.silu(z))
    return x + F.linear(y, b.out_proj.w(), b.out_proj.bias)


def c_arrays(b: Any, prefix: str) -> dict[str, Any]:
    """The deployed scan arrays: ``decay = exp(dt A)`` and ``dtB = dt B`` ``(E, N)`` (they
    replace ``A_log``, ``log_dt`` and ``B`` in ``model.h``)."""
    import torch

    dtu = b.dt.unsqueeze(-1)  # (E, 1)
    return {f"{prefix}.decay": torch.exp(dtu * b.A), f"{prefix}.dtB": dtu * b.B}


def c_rows(wr: Any, p: str, b: Any) -> None:
    """Its rows (and arrays) of the C layer table."""
    wr.norm(f"{p}.ln", b.ln_weight, b.ln_bias)
    wr.layer(f"{p}.in_proj", b.in_proj, "NASX_LINEAR", ())
    arrays = c_arrays(b, p)
    aux = (wr.array(f"{p}.decay", arrays[f"{p}.decay"]), wr.array(f"{p}.dtB", arrays[f"{p}.dtB"]),
           wr.array(f"{p}.C", b.C), wr.array(f"{p}.D", b.D))
    e, n = b.A.shape
    wr.row(f"{p}.scan", "NASX_SSM", (), out=e, inp=e, kernel=n, aux=aux)
    wr.layer(f"{p}.out_proj", b.out_proj, "NASX_LINEAR", ["NASX_RESIDUAL"])


OP = OpDef(
    name=NAME, block_type=SSMBlock, space_type=SSMSpace, yaml_keys=("state", "expand"),
    choice_keys=("state", "expand"), defaults={"state": [8, 16], "expand": [1, 2]},
    parse=SSMSpace.parse, unit=state_expand_unit, latency_work=_latency,
    latency_terms=("scan", "kernel"),
    no_decay=("A_log", "B"),
    elastic="nasx.supernet.ssm_block:ElasticSSM",
    static="nasx.supernet.ssm_block:StaticSSM",
    export="nasx.export.blocks:SSMBlock",
    steps="nasx.ops.ssm_steps:ssm_steps",
    c_emit="nasx.export.mcu.op_ssm:emit", c_emit_step="nasx.export.mcu.op_ssm:emit_step",
    hooks=__name__, c_words=_c_words,
)
