"""Attention block: pre-norm multi-head self-attention (SDPA) and pre-norm FFN, both residual.

Elastic: stage width ``W``, number of heads (fixed ``head_dim``; q, k and v are sliced per
segment of the fused projection) and FFN width ``round(ffn * W)``. Padded keys are masked out;
with ``causal`` a query sees only earlier steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx.ops.attn import AttnSpace
from nasx.ops.layout import inner_width
from nasx.supernet.quant import ActQuant, qw


@dataclass
class AttnTensors:
    """Active tensors: ``qkv_w (3*h*d, W)``, ``o_w (W, h*d)``, ``fc1_w (F, W)``, ``fc2_w (W, F)``.

    ``h`` heads of ``d`` dims, ``F`` FFN width.
    """

    ln1_w: Tensor
    ln1_b: Tensor
    qkv_w: Tensor
    qkv_b: Tensor
    o_w: Tensor
    o_b: Tensor
    ln2_w: Tensor
    ln2_b: Tensor
    fc1_w: Tensor
    fc1_b: Tensor
    fc2_w: Tensor
    fc2_b: Tensor
    aq: tuple[ActQuant, ActQuant, ActQuant, ActQuant]


def attention_mask(mask: Tensor, causal: bool) -> Tensor:
    """``(B, L)`` valid mask -> SDPA boolean mask ``(B, 1, L, L)`` or ``(B, 1, 1, L)``."""
    keys = mask[:, None, None, :]  # (B, 1, 1, L)
    if not causal:
        return keys
    length = mask.shape[1]
    return keys & torch.ones(length, length, dtype=torch.bool, device=mask.device).tril()


def attn_block_forward(
    x: Tensor, mask: Tensor, t: AttnTensors, *, head_dim: int, causal: bool, wbits: int, abits: int
) -> Tensor:
    """``x (B, W, L)`` masked -> block output, masked."""
    xt = x.transpose(1, 2)  # (B, L, W)
    b, length, w = xt.shape
    heads = t.qkv_w.shape[0] // (3 * head_dim)
    valid = mask.unsqueeze(-1)  # (B, L, 1)
    h = t.aq[0](F.layer_norm(xt, (w,), t.ln1_w, t.ln1_b), abits, valid)
    qkv = F.linear(h, qw(t.qkv_w, wbits), t.qkv_b).view(b, length, 3, heads, head_dim)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, L, head_dim)
    o = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask(mask, causal))
    o = o.transpose(1, 2).reshape(b, length, heads * head_dim)
    xt = xt + F.linear(t.aq[1](o, abits, valid), qw(t.o_w, wbits), t.o_b)
    h = t.aq[2](F.layer_norm(xt, (w,), t.ln2_w, t.ln2_b), abits, valid)
    h = F.gelu(F.linear(h, qw(t.fc1_w, wbits), t.fc1_b))  # (B, L, F)
    xt = xt + F.linear(t.aq[3](h, abits, valid), qw(t.fc2_w, wbits), t.fc2_b)
    return xt.transpose(1, 2) * mask.unsqueeze(1)


class ElasticAttention(nn.Module):
    """Weight-sharing attention block over widths, head counts and FFN widths."""

    def __init__(self, spec: AttnSpace, max_width: int, causal: bool) -> None:
        super().__init__()
        self.head_dim, self.causal = spec.head_dim, causal
        self.inner_max = max(spec.heads) * spec.head_dim
        fmax = inner_width(max_width, max(spec.ffn))
        self.ln1 = nn.LayerNorm(max_width)
        self.qkv = nn.Linear(max_width, 3 * self.inner_max)
        self.o = nn.Linear(self.inner_max, max_width)
        self.ln2 = nn.LayerNorm(max_width)
        self.fc1 = nn.Linear(max_width, fmax)
        self.fc2 = nn.Linear(fmax, max_width)
        self.aq = nn.ModuleList(ActQuant() for _ in range(4))

    def tensors(self, width: int, block: dict[str, Any]) -> AttnTensors:
        """Slices of the shared weights for ``width`` and ``block``."""
        inner, f, im = (
            block["heads"] * self.head_dim,
            inner_width(width, block["ffn"]),
            self.inner_max,
        )
        return AttnTensors(
            self.ln1.weight[:width],
            self.ln1.bias[:width],
            self.qkv.weight.view(3, im, -1)[:, :inner, :width].reshape(3 * inner, width),
            self.qkv.bias.view(3, im)[:, :inner].reshape(3 * inner),
            self.o.weight[:width, :inner],
            self.o.bias[:width],
            self.ln2.weight[:width],
            self.ln2.bias[:width],
            self.fc1.weight[:f, :width],
            self.fc1.bias[:f],
            self.fc2.weight[:width, :f],
            self.fc2.bias[:width],
            (self.aq[0], self.aq[1], self.aq[2], self.aq[3]),
        )

    def forward(self, x: Tensor, mask: Tensor, width: int, block: dict[str, Any]) -> Tensor:
        """``x (B, width, L)`` -> same shape."""
        return attn_block_forward(
            x,
            mask,
            self.tensors(width, block),
            head_dim=self.head_dim,
            causal=self.causal,
            wbits=block["wbits"],
            abits=block["abits"],
        )

    def extract(self, width: int, block: dict[str, Any]) -> StaticAttention:
        """A static copy of the active choice."""
        t = self.tensors(width, block)
        out = StaticAttention(
            width,
            block["heads"],
            self.head_dim,
            t.fc1_w.shape[0],
            self.causal,
            block["wbits"],
            block["abits"],
        )
        for layer, (w, b) in (
            (out.ln1, (t.ln1_w, t.ln1_b)),
            (out.qkv, (t.qkv_w, t.qkv_b)),
            (out.o, (t.o_w, t.o_b)),
            (out.ln2, (t.ln2_w, t.ln2_b)),
            (out.fc1, (t.fc1_w, t.fc1_b)),
            (out.fc2, (t.fc2_w, t.fc2_b)),
        ):
            layer.weight.data.copy_(w.detach())
            layer.bias.data.copy_(b.detach())
        out.aq.load_state_dict(self.aq.state_dict())
        return out


class StaticAttention(nn.Module):
    """Attention block from plain LayerNorm / Linear layers and SDPA."""

    def __init__(
        self, width: int, heads: int, head_dim: int, ffn: int, causal: bool, wbits: int, abits: int
    ) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * heads * head_dim)
        self.o = nn.Linear(heads * head_dim, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, ffn)
        self.fc2 = nn.Linear(ffn, width)
        self.aq = nn.ModuleList(ActQuant() for _ in range(4))
        self.head_dim, self.causal, self.wbits, self.abits = head_dim, causal, wbits, abits

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x (B, W, L)`` -> same shape."""
        t = AttnTensors(
            self.ln1.weight,
            self.ln1.bias,
            self.qkv.weight,
            self.qkv.bias,
            self.o.weight,
            self.o.bias,
            self.ln2.weight,
            self.ln2.bias,
            self.fc1.weight,
            self.fc1.bias,
            self.fc2.weight,
            self.fc2.bias,
            (self.aq[0], self.aq[1], self.aq[2], self.aq[3]),
        )
        return attn_block_forward(
            x,
            mask,
            t,
            head_dim=self.head_dim,
            causal=self.causal,
            wbits=self.wbits,
            abits=self.abits,
        )
