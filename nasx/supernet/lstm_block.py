"""LSTM block: LayerNorm, unidirectional LSTM, linear projection back to the width, residual.

Elastic: stage width ``W`` and hidden size ``H = round(hidden * W)``. The fused gate matrices
(gate order i, f, g, o as torch) are sliced per gate and passed to torch's fused LSTM kernel
(``torch.lstm``); there is no Python loop over time steps. The slicing, the forward and the
extract copy are shared with the GRU (:mod:`nasx.supernet.gated_rnn`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from nasx.ops.layout import inner_width
from nasx.ops.lstm import LSTMSpace
from nasx.supernet.gated_rnn import (
    RNNTensors,
    active_tensors,
    copy_active,
    rnn_block_forward,
    whole_tensors,
)
from nasx.supernet.quant import ActQuant

GATES = 4  # i, f, g, o


def run_lstm(h: Tensor, zeros: Tensor, params: list[Tensor], training: bool) -> Tensor:
    """torch's fused LSTM over ``h (B, L, W)`` from a zero state -> ``(B, L, H)``."""
    out, _, _ = torch.lstm(h, [zeros, zeros], params, True, 1, 0.0, training, False, True)
    return out


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

    def tensors(self, width: int, block: dict[str, Any]) -> RNNTensors:
        """Slices of the shared weights for ``width`` and ``block``."""
        h = inner_width(width, block["hidden"])
        return active_tensors(self.ln, self.lstm, self.proj, self.aq, GATES, self.hmax, width, h)

    def forward(self, x: Tensor, mask: Tensor, width: int, block: dict[str, Any]) -> Tensor:
        """``x (B, width, L)`` -> same shape."""
        return rnn_block_forward(x, mask, self.tensors(width, block), run_lstm,
                                 wbits=block["wbits"], abits=block["abits"],
                                 training=self.training)

    def extract(self, width: int, block: dict[str, Any]) -> StaticLSTM:
        """A static copy of the active choice."""
        t = self.tensors(width, block)
        out = StaticLSTM(width, t.w_hh.shape[1], block["wbits"], block["abits"])
        copy_active(t, out.ln, out.lstm, out.proj)
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
        t = whole_tensors(self.ln, self.lstm, self.proj, self.aq)
        return rnn_block_forward(x, mask, t, run_lstm, wbits=self.wbits, abits=self.abits,
                                 training=self.training)
