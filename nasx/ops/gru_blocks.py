"""The modules of the ``gru`` op (declared in :mod:`nasx.ops.gru`).

LayerNorm, unidirectional GRU (torch's fused kernel ``torch.gru``; gate order r, z, n as in
torch), linear projection back to the width, residual. Elastic: stage width ``W`` and hidden
size ``H = round(hidden * W)``; the fused gate matrices are sliced per gate (first ``H`` rows of
each of the three blocks, first ``W`` or ``H`` columns), there is no Python loop over time.

Kept apart from :mod:`nasx.ops.gru` because it imports torch and the supernet's quantizers,
which import the search space: the registry imports this module only on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx.export.layers import Layer, TensorReader, layer_tensors, read_layer
from nasx.ops.gru import GATES, GRUSpace
from nasx.ops.layout import inner_width
from nasx.supernet.quant import ActQuant, qw


@dataclass
class GRUTensors:
    """Active tensors: ``w_ih (3H, W)``, ``w_hh (3H, H)``, biases ``(3H,)``, ``proj (W, H)``."""

    ln_w: Tensor
    ln_b: Tensor
    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor
    b_hh: Tensor
    proj_w: Tensor
    proj_b: Tensor
    aq: tuple[ActQuant, ActQuant]


def gru_block_forward(x: Tensor, mask: Tensor, t: GRUTensors, *, wbits: int, abits: int,
                      training: bool) -> Tensor:
    """``x (B, W, L)`` masked -> ``x + f(x)``, masked. Causal, so padding cannot leak back."""
    xt = x.transpose(1, 2)  # (B, L, W)
    valid = mask.unsqueeze(-1)  # (B, L, 1)
    h = t.aq[0](F.layer_norm(xt, (xt.shape[-1],), t.ln_w, t.ln_b), abits, valid)
    zeros = h.new_zeros(1, h.shape[0], t.w_hh.shape[1])  # (layers, B, H)
    out, _ = torch.gru(h, zeros, [qw(t.w_ih, wbits), qw(t.w_hh, wbits), t.b_ih, t.b_hh],
                       True, 1, 0.0, training, False, True)  # (B, L, H)
    y = F.linear(t.aq[1](out, abits, valid), qw(t.proj_w, wbits), t.proj_b)  # (B, L, W)
    return x + y.transpose(1, 2) * mask.unsqueeze(1)


def _param(module: nn.Module, name: str) -> Tensor:
    """``module.<name>`` as a tensor (torch types module attributes as ``Tensor | Module``)."""
    t = getattr(module, name)
    assert isinstance(t, Tensor), name
    return t


def _quantizers(aq: nn.ModuleList) -> tuple[ActQuant, ActQuant]:
    a, b = aq[0], aq[1]
    assert isinstance(a, ActQuant) and isinstance(b, ActQuant)
    return a, b


def _gates(w: Tensor, hmax: int, h: int, cols: int | None = None) -> Tensor:
    """First ``h`` rows of each of the 3 gate blocks of ``w (3*hmax, ...)``, concatenated."""
    g = w.view(GATES, hmax, *w.shape[1:])[:, :h]
    if cols is not None:
        g = g[..., :cols]
    return g.reshape(GATES * h, *g.shape[2:])


class ElasticGRU(nn.Module):
    """Weight-sharing GRU block over widths and hidden sizes."""

    def __init__(self, spec: GRUSpace, max_width: int, causal: bool) -> None:
        super().__init__()
        del causal  # always causal
        self.hmax = inner_width(max_width, max(spec.hidden))
        self.ln = nn.LayerNorm(max_width)
        self.gru = nn.GRU(max_width, self.hmax, batch_first=True)
        self.proj = nn.Linear(self.hmax, max_width)
        self.aq = nn.ModuleList(ActQuant() for _ in range(2))

    def tensors(self, width: int, block: dict[str, Any]) -> GRUTensors:
        """Slices of the shared weights for ``width`` and ``block``."""
        h, m, hm = inner_width(width, block["hidden"]), self.gru, self.hmax
        w_ih, w_hh, b_ih, b_hh = (_param(m, n) for n in ("weight_ih_l0", "weight_hh_l0",
                                                          "bias_ih_l0", "bias_hh_l0"))
        return GRUTensors(self.ln.weight[:width], self.ln.bias[:width],
                          _gates(w_ih, hm, h, width), _gates(w_hh, hm, h, h),
                          _gates(b_ih, hm, h), _gates(b_hh, hm, h),
                          self.proj.weight[:width, :h], self.proj.bias[:width],
                          _quantizers(self.aq))

    def forward(self, x: Tensor, mask: Tensor, width: int, block: dict[str, Any]) -> Tensor:
        """``x (B, width, L)`` -> same shape."""
        return gru_block_forward(x, mask, self.tensors(width, block), wbits=block["wbits"],
                                 abits=block["abits"], training=self.training)

    def extract(self, width: int, block: dict[str, Any]) -> StaticGRU:
        """A static copy of the active choice."""
        t = self.tensors(width, block)
        out = StaticGRU(width, t.w_hh.shape[1], block["wbits"], block["abits"])
        m = out.gru
        pairs = [(out.ln.weight, t.ln_w), (out.ln.bias, t.ln_b), (out.proj.weight, t.proj_w),
                 (out.proj.bias, t.proj_b)]
        pairs += [(_param(m, n), src) for n, src in (("weight_ih_l0", t.w_ih),
                                                      ("weight_hh_l0", t.w_hh),
                                                      ("bias_ih_l0", t.b_ih),
                                                      ("bias_hh_l0", t.b_hh))]
        for dst, src in pairs:
            dst.data.copy_(src.detach())
        out.aq.load_state_dict(self.aq.state_dict())
        return out


class StaticGRU(nn.Module):
    """GRU block from plain LayerNorm / GRU / Linear layers."""

    def __init__(self, width: int, hidden: int, wbits: int, abits: int) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(width)
        self.gru = nn.GRU(width, hidden, batch_first=True)
        self.proj = nn.Linear(hidden, width)
        self.aq = nn.ModuleList(ActQuant() for _ in range(2))
        self.wbits, self.abits = wbits, abits

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x (B, W, L)`` -> same shape."""
        m = self.gru
        t = GRUTensors(self.ln.weight, self.ln.bias, _param(m, "weight_ih_l0"),
                       _param(m, "weight_hh_l0"), _param(m, "bias_ih_l0"),
                       _param(m, "bias_hh_l0"), self.proj.weight, self.proj.bias,
                       _quantizers(self.aq))
        return gru_block_forward(x, mask, t, wbits=self.wbits, abits=self.abits,
                                 training=self.training)


class GRUBlock(nn.Module):
    """The exported GRU block: LayerNorm, ``torch.gru``, projection, residual."""

    ln_weight: Tensor  # (W,) buffers
    ln_bias: Tensor

    def __init__(self, ln_weight: Tensor, ln_bias: Tensor, ih: Layer, hh: Layer,
                 proj: Layer) -> None:
        super().__init__()
        self.register_buffer("ln_weight", ln_weight.detach().float().contiguous())
        self.register_buffer("ln_bias", ln_bias.detach().float().contiguous())
        self.ih, self.hh, self.proj = ih, hh, proj
        self.hidden = hh.weight.shape[1]

    def gru_params(self) -> list[Tensor]:
        """``[w_ih (3H, W), w_hh (3H, H), b_ih, b_hh]`` in torch's gate order r, z, n."""
        assert self.ih.bias is not None and self.hh.bias is not None
        return [self.ih.w(), self.hh.w(), self.ih.bias, self.hh.bias]

    def run(self, h: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """Normalised, quantized input ``h (B, L, W)`` and ``state (1, B, H)`` ->
        ``(out (B, L, H), last state)``."""
        out, hn = torch.gru(h, state, self.gru_params(), True, 1, 0.0, False, False, True)
        return out, hn

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x (B, W, L)`` -> same shape; causal, so padding at the end cannot leak back."""
        xt = x.transpose(1, 2)  # (B, L, W)
        h = self.ih.a(F.layer_norm(xt, (xt.shape[-1],), self.ln_weight, self.ln_bias))
        out, _ = self.run(h, h.new_zeros(1, h.shape[0], self.hidden))  # (B, L, H)
        y = F.linear(self.proj.a(out), self.proj.w(), self.proj.bias)  # (B, L, W)
        y = y.transpose(1, 2)
        return x + (y if mask is None else y * mask.unsqueeze(1))

    def tensors(self, prefix: str) -> dict[str, Tensor]:
        """File tensors under ``prefix``."""
        return {f"{prefix}.ln.weight": self.ln_weight, f"{prefix}.ln.bias": self.ln_bias,
                **layer_tensors(f"{prefix}.ih", self.ih), **layer_tensors(f"{prefix}.hh", self.hh),
                **layer_tensors(f"{prefix}.proj", self.proj)}

    @classmethod
    def read(cls, r: TensorReader, prefix: str, width: int, block: dict[str, Any]) -> GRUBlock:
        """Rebuild from file tensors (``hh`` has no input quantizer: the state stays float)."""
        h, wb, ab = inner_width(width, block["hidden"]), block["wbits"], block["abits"]
        return cls(r.get(f"{prefix}.ln.weight", (width,)), r.get(f"{prefix}.ln.bias", (width,)),
                   read_layer(r, f"{prefix}.ih", (GATES * h, width), wb, ab),
                   read_layer(r, f"{prefix}.hh", (GATES * h, h), wb, None),
                   read_layer(r, f"{prefix}.proj", (width, h), wb, ab))
