"""LSTM block: LayerNorm, unidirectional LSTM, linear projection back to the width, residual.

Elastic: stage width ``W`` and hidden size ``H = round(hidden * W)``. The fused gate matrices
(gate order i, f, g, o as torch) are sliced per gate and passed to torch's fused LSTM kernel
(``torch.lstm``); there is no Python loop over time steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx.ops.layout import inner_width
from nasx.ops.lstm import LSTMSpace
from nasx.supernet.quant import ActQuant, qw


@dataclass
class LSTMTensors:
    """Active tensors: ``w_ih (4H, W)``, ``w_hh (4H, H)``, biases ``(4H,)``, ``proj (W, H)``."""

    ln_w: Tensor
    ln_b: Tensor
    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor
    b_hh: Tensor
    proj_w: Tensor
    proj_b: Tensor
    aq: tuple[ActQuant, ActQuant]


def lstm_block_forward(
    x: Tensor, mask: Tensor, t: LSTMTensors, *, wbits: int, abits: int, training: bool
) -> Tensor:
    """``x (B, W, L)`` masked -> ``x + f(x)``, masked. Causal, so padding cannot leak back."""
    xt = x.transpose(1, 2)  # (B, L, W)
    valid = mask.unsqueeze(-1)  # (B, L, 1)
    h = t.aq[0](F.layer_norm(xt, (xt.shape[-1],), t.ln_w, t.ln_b), abits, valid)
    zeros = h.new_zeros(1, h.shape[0], t.w_hh.shape[1])  # (layers, B, H)
    out, _, _ = torch.lstm(
        h,
        [zeros, zeros],
        [qw(t.w_ih, wbits), qw(t.w_hh, wbits), t.b_ih, t.b_hh],
        True,
        1,
        0.0,
        training,
        False,
        True,
    )  # (B, L, H)
    y = F.linear(t.aq[1](out, abits, valid), qw(t.proj_w, wbits), t.proj_b)  # (B, L, W)
    return x + y.transpose(1, 2) * mask.unsqueeze(1)


def _gates(w: Tensor, hmax: int, h: int, cols: int | None = None) -> Tensor:
    """First ``h`` rows of each of the 4 gate blocks of ``w (4*hmax, ...)``, concatenated."""
    g = w.view(4, hmax, *w.shape[1:])[:, :h]
    if cols is not None:
        g = g[..., :cols]
    return g.reshape(4 * h, *g.shape[2:])


class ElasticLSTM(nn.Module):
    """Weight-sharing LSTM block over widths and hidden sizes."""

    def __init__(self, spec: LSTMSpace, max_width: int, causal: bool) -> None:
        super().__init__()
        del causal  # always causal
        self.hmax = inner_width(max_width, max(spec.hidden))
        self.ln = nn.LayerNorm(max_width)
        self.lstm = nn.LSTM(max_width, self.hmax, batch_first=True)
        self.proj = nn.Linear(self.hmax, max_width)
        self.aq = nn.ModuleList(ActQuant() for _ in range(2))

    def tensors(self, width: int, block: dict[str, Any]) -> LSTMTensors:
        """Slices of the shared weights for ``width`` and ``block``."""
        h = inner_width(width, block["hidden"])
        m, hm = self.lstm, self.hmax
        return LSTMTensors(
            self.ln.weight[:width],
            self.ln.bias[:width],
            _gates(m.weight_ih_l0, hm, h, width),
            _gates(m.weight_hh_l0, hm, h, h),
            _gates(m.bias_ih_l0, hm, h),
            _gates(m.bias_hh_l0, hm, h),
            self.proj.weight[:width, :h],
            self.proj.bias[:width],
            (self.aq[0], self.aq[1]),
        )

    def forward(self, x: Tensor, mask: Tensor, width: int, block: dict[str, Any]) -> Tensor:
        """``x (B, width, L)`` -> same shape."""
        return lstm_block_forward(
            x,
            mask,
            self.tensors(width, block),
            wbits=block["wbits"],
            abits=block["abits"],
            training=self.training,
        )

    def extract(self, width: int, block: dict[str, Any]) -> StaticLSTM:
        """A static copy of the active choice."""
        t = self.tensors(width, block)
        out = StaticLSTM(width, t.w_hh.shape[1], block["wbits"], block["abits"])
        pairs = (
            (out.ln.weight, t.ln_w),
            (out.ln.bias, t.ln_b),
            (out.lstm.weight_ih_l0, t.w_ih),
            (out.lstm.weight_hh_l0, t.w_hh),
            (out.lstm.bias_ih_l0, t.b_ih),
            (out.lstm.bias_hh_l0, t.b_hh),
            (out.proj.weight, t.proj_w),
            (out.proj.bias, t.proj_b),
        )
        for dst, src in pairs:
            dst.data.copy_(src.detach())
        out.aq.load_state_dict(self.aq.state_dict())
        return out


class StaticLSTM(nn.Module):
    """LSTM block from plain LayerNorm / LSTM / Linear layers."""

    def __init__(self, width: int, hidden: int, wbits: int, abits: int) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(width)
        self.lstm = nn.LSTM(width, hidden, batch_first=True)
        self.proj = nn.Linear(hidden, width)
        self.aq = nn.ModuleList(ActQuant() for _ in range(2))
        self.wbits, self.abits = wbits, abits

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x (B, W, L)`` -> same shape."""
        m = self.lstm
        t = LSTMTensors(
            self.ln.weight,
            self.ln.bias,
            m.weight_ih_l0,
            m.weight_hh_l0,
            m.bias_ih_l0,
            m.bias_hh_l0,
            self.proj.weight,
            self.proj.bias,
            (self.aq[0], self.aq[1]),
        )
        return lstm_block_forward(
            x, mask, t, wbits=self.wbits, abits=self.abits, training=self.training
        )
