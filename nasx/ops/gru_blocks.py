"""The modules of the ``gru`` op (declared in :mod:`nasx.ops.gru`).

LayerNorm, unidirectional GRU (torch's fused kernel ``torch.gru``; gate order r, z, n as in
torch), linear projection back to the width, residual. Elastic: stage width ``W`` and hidden
size ``H = round(hidden * W)``; the fused gate matrices are sliced per gate (first ``H`` rows of
each of the three blocks, first ``W`` or ``H`` columns), there is no Python loop over time.
The slicing, the forward and the extract copy are the LSTM's (:mod:`nasx.supernet.gated_rnn`).

Kept apart from :mod:`nasx.ops.gru` because it imports torch and the supernet's quantizers,
which import the search space: the registry imports this module only on first use.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx.export.layers import Layer, TensorReader, layer_tensors, read_layer
from nasx.ops.gru import GATES, GRUSpace
from nasx.ops.layout import inner_width
from nasx.supernet.gated_rnn import (
    RNNTensors,
    active_tensors,
    copy_active,
    rnn_block_forward,
    whole_tensors,
)
from nasx.supernet.quant import ActQuant


def run_gru(h: Tensor, zeros: Tensor, params: list[Tensor], training: bool) -> Tensor:
    """torch's fused GRU over ``h (B, L, W)`` from a zero state -> ``(B, L, H)``."""
    out, _ = torch.gru(h, zeros, params, True, 1, 0.0, training, False, True)
    return out


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

    def tensors(self, width: int, block: dict[str, Any]) -> RNNTensors:
        """Slices of the shared weights for ``width`` and ``block``."""
        h = inner_width(width, block["hidden"])
        return active_tensors(self.ln, self.gru, self.proj, self.aq, GATES, self.hmax, width, h)

    def forward(self, x: Tensor, mask: Tensor, width: int, block: dict[str, Any]) -> Tensor:
        """``x (B, width, L)`` -> same shape."""
        return rnn_block_forward(x, mask, self.tensors(width, block), run_gru,
                                 wbits=block["wbits"], abits=block["abits"],
                                 training=self.training)

    def extract(self, width: int, block: dict[str, Any]) -> StaticGRU:
        """A static copy of the active choice."""
        t = self.tensors(width, block)
        out = StaticGRU(width, t.w_hh.shape[1], block["wbits"], block["abits"])
        copy_active(t, out.ln, out.gru, out.proj)
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
        t = whole_tensors(self.ln, self.gru, self.proj, self.aq)
        return rnn_block_forward(x, mask, t, run_gru, wbits=self.wbits, abits=self.abits,
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
