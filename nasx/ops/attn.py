"""The ``attn`` op: pre-norm multi-head self-attention (SDPA; elastic heads of a fixed
``head_dim``, q/k/v sliced per segment) and a pre-norm GELU FFN (width = ffn x stage width),
both residual.

Supernet block :class:`~nasx.supernet.attn_block.ElasticAttention`, export block
:class:`~nasx.export.blocks.AttentionBlock`, schedule
:func:`~nasx.ops.attn_steps.attn_steps`, C emitters :mod:`nasx.export.mcu.op_attn`; its
streaming step (a key/value cache), ONNX step graph and C header rows are here (torch imported
inside the functions, as in :mod:`nasx.ops.conv`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from nasx.ops.base import BlockBits, ChoiceChecker, LatencyWork, Number, OpDef
from nasx.ops.layout import inner_width
from nasx.ops.runtime_words import scratch_words, words

NAME = "attn"


class AttnBlock(BlockBits):
    """An ``attn`` block of an arch: heads and FFN ratio."""

    op: Literal["attn"]
    heads: int
    ffn: float


@dataclass(frozen=True)
class AttnSpace:
    """Pre-norm multi-head self-attention + FFN; fixed head_dim, FFN width = ffn x stage width."""

    heads: tuple[int, ...]
    ffn: tuple[Number, ...]
    head_dim: int = 16


def _parse(c: ChoiceChecker, raw: Mapping[str, Any], key: str) -> AttnSpace:
    head_dim = c.ints(raw["head_dim"], f"{key}.head_dim")
    if len(head_dim) != 1:
        raise c.fail(
            f"{key}.head_dim", "must be a single integer (heads are elastic, not head_dim)"
        )
    return AttnSpace(heads=c.ints(raw["heads"], f"{key}.heads"),
                     ffn=c.ratios(raw["ffn"], f"{key}.ffn"), head_dim=head_dim[0])


def _unit(spec: AttnSpace, width: int, b: AttnBlock) -> tuple[Any, ...]:
    return (width, b["heads"], spec.head_dim, inner_width(width, b["ffn"]))


def _latency(c: tuple[Any, ...], length: int) -> LatencyWork:
    w, heads, d, f = c
    hd = heads * d
    numel = 4 * hd * w + 2 * w * f
    return LatencyWork(numel * length + 2 * heads * length * length * d,
                       (4 * w + 4 * hd + f) * length, numel, (heads * length * length / 1e3,))


def _c_words(c: tuple[Any, ...], n: int) -> list[int]:
    """C runtime words: ``cur + t1``, ``t1 + qkv (3LI) + scr(LW) + cur``, ``qkv + o (LI) +
    scores (L) + cur``, ``o + cur + scr(LI)``, ``cur + t4``, ``t4 + ffn (LF) + scr(LW) + cur``,
    ``ffn + cur + scr(LF)``."""
    w, heads, head_dim, ffn, wb, ab = c
    inner = heads * head_dim
    cur = t1 = words(n * w)
    qkv, o, hid = words(3 * n * inner), words(n * inner), words(n * ffn)

    def scr(count: int) -> int:
        return scratch_words(wb, ab, count)

    return [cur + t1, t1 + qkv + scr(n * w) + cur, qkv + o + words(n) + cur,
            o + cur + scr(n * inner), cur + t1, t1 + hid + scr(n * w) + cur,
            hid + cur + scr(n * ffn)]


# --- export hooks (``b``: an AttentionBlock) -----------------------------------------------

def to_export(m: Any, where: str, head_dim: int) -> Any:
    """The export block of extracted ``m``."""
    from nasx.export.blocks import AttentionBlock
    from nasx.export.convert import deploy_act, deploy_linear

    wb, ab = m.wbits, m.abits
    return AttentionBlock(
        (m.ln1.weight, m.ln1.bias),
        deploy_linear(m.qkv, wb, deploy_act(m.aq[0], ab, f"{where} (attn) qkv")),
        deploy_linear(m.o, wb, deploy_act(m.aq[1], ab, f"{where} (attn) o")),
        (m.ln2.weight, m.ln2.bias),
        deploy_linear(m.fc1, wb, deploy_act(m.aq[2], ab, f"{where} (attn) fc1")),
        deploy_linear(m.fc2, wb, deploy_act(m.aq[3], ab, f"{where} (attn) fc2")),
        head_dim, m.causal)


def read(r: Any, prefix: str, width: int, block: AttnBlock, spec: Any) -> Any:
    """The export block rebuilt from file tensors."""
    from nasx.export.blocks import AttentionBlock

    return AttentionBlock.read(r, prefix, width, dict(block), spec.head_dim, spec.causal)


def blocker(b: Any) -> str | None:
    """Non-causal attention needs the whole sequence."""
    return None if b.causal else "is not causal (attention over the whole sequence)"


def stream_state(b: Any, prefix: str, batch: int, zeros: Callable[..., Any]) -> dict[str, Any]:
    """Empty key/value caches ``(B, heads, 0, head_dim)``."""
    return {f"{prefix}.k": zeros(batch, b.heads, 0, b.head_dim),
            f"{prefix}.v": zeros(batch, b.heads, 0, b.head_dim)}


def stream_step(b: Any, prefix: str, x: Any, st: dict[str, Any]) -> Any:
    """One frame ``x (B, W)`` -> ``(B, W)``: the query against every cached frame."""
    import torch
    import torch.nn.functional as F

    batch, w = x.shape
    h = b.qkv.a(F.layer_norm(x, (w,), b.ln1_weight, b.ln1_bias))
    qkv = F.linear(h, b.qkv.w(), b.qkv.bias).view(batch, 3, b.heads, 1, b.head_dim)
    q, k, v = qkv.unbind(1)  # each (B, heads, 1, head_dim)
    keys = torch.cat([st[f"{prefix}.k"], k], dim=2)  # (B, heads, t + 1, head_dim)
    values = torch.cat([st[f"{prefix}.v"], v], dim=2)
    st[f"{prefix}.k"], st[f"{prefix}.v"] = keys, values
    att = F.scaled_dot_product_attention(q, keys, values).reshape(batch, b.heads * b.head_dim)
    x = x + F.linear(b.o.a(att), b.o.w(), b.o.bias)
    return b.ffn(x)


def graph_state(b: Any, prefix: str, frames: int) -> list[tuple[str, tuple[int, ...]]]:
    """Caches preallocated for ``frames`` frames and the count of frames seen (batch 1)."""
    shape = (1, b.heads, frames, b.head_dim)
    return [(f"{prefix}.k", shape), (f"{prefix}.v", shape), (f"{prefix}.count", (1,))]


def graph_step(b: Any, p: str, x: Any, st: dict[str, Any], new: dict[str, Any],
               keep: Callable[[str, Any], None], live: Any) -> Any:
    """One frame of the ONNX step graph: the cache slot ``count`` takes this frame's k, v."""
    import torch
    import torch.nn.functional as F

    w = x.shape[-1]
    h = b.qkv.a(F.layer_norm(x, (w,), b.ln1_weight, b.ln1_bias))
    qkv = F.linear(h, b.qkv.w(), b.qkv.bias).view(1, 3, b.heads, 1, b.head_dim)
    q, k, v = qkv.unbind(1)  # each (1, heads, 1, head_dim)
    count = st[f"{p}.count"]
    slots = torch.arange(st[f"{p}.k"].shape[2], dtype=count.dtype)  # (cap,)
    here = (slots == count).reshape(1, 1, -1, 1)
    keys = torch.where(here, k, st[f"{p}.k"])  # (1, heads, cap, head_dim)
    values = torch.where(here, v, st[f"{p}.v"])
    keep(f"{p}.k", keys)
    keep(f"{p}.v", values)
    new[f"{p}.count"] = count + live.float()
    seen = (slots <= count).reshape(1, 1, 1, -1)
    att = F.scaled_dot_product_attention(q, keys, values, attn_mask=seen)
    x = x + F.linear(b.o.a(att.reshape(1, b.heads * b.head_dim)), b.o.w(), b.o.bias)
    return b.ffn(x)


def c_rows(wr: Any, p: str, b: Any) -> None:
    """Its rows (and arrays) of the C layer table."""
    wr.norm(f"{p}.ln1", b.ln1_weight, b.ln1_bias)
    wr.layer(f"{p}.qkv", b.qkv, "NASX_LINEAR", ())
    wr.row(f"{p}.sdpa", "NASX_ATTENTION", ["NASX_CAUSAL"] if b.causal else [],
           out=b.heads, inp=3 * b.heads * b.head_dim, kernel=b.head_dim)
    wr.layer(f"{p}.o", b.o, "NASX_LINEAR", ["NASX_RESIDUAL"])
    wr.norm(f"{p}.ln2", b.ln2_weight, b.ln2_bias)
    wr.layer(f"{p}.fc1", b.fc1, "NASX_LINEAR", ["NASX_GELU"])
    wr.layer(f"{p}.fc2", b.fc2, "NASX_LINEAR", ["NASX_RESIDUAL"])


def c_arrays(b: Any, prefix: str) -> dict[str, Any]:
    """Deployed arrays besides the file tensors: none."""
    return {}


OP = OpDef(
    name=NAME, block_type=AttnBlock, space_type=AttnSpace, yaml_keys=("heads", "head_dim", "ffn"),
    choice_keys=("heads", "ffn"), defaults={"heads": [1, 2, 4], "head_dim": 16, "ffn": [1, 2]},
    parse=_parse, unit=_unit, latency_work=_latency, latency_terms=("scores",),
    elastic="nasx.supernet.attn_block:ElasticAttention",
    static="nasx.supernet.attn_block:StaticAttention",
    export="nasx.export.blocks:AttentionBlock",
    steps="nasx.ops.attn_steps:attn_steps",
    c_emit="nasx.export.mcu.op_attn:emit", c_emit_step="nasx.export.mcu.op_attn:emit_step",
    hooks=__name__, c_words=_c_words,
)
