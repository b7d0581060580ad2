"""What the recurrent blocks (``lstm``: :mod:`nasx.supernet.lstm_block`, ``gru``:
:mod:`nasx.ops.gru_blocks`) share: LayerNorm, a fused gated RNN of ``G`` gates (torch's kernel,
one call over the sequence), a projection back to the width, residual.

The supernet block slices its fused gate matrices per gate (first ``H`` rows of each of the
``G`` blocks, first ``W`` or ``H`` columns); the static block holds the active slice in plain
``nn.LSTM`` / ``nn.GRU`` layers. The two differ only in ``G`` and in the torch kernel, passed
as a :data:`RunRNN`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from nasx.supernet.quant import ActQuant, qw

# ``(input (B, L, W), zero state (1, B, H), [w_ih, w_hh, b_ih, b_hh], training) -> (B, L, H)``
RunRNN = Callable[[Tensor, Tensor, list[Tensor], bool], Tensor]
RNN_PARAMS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


@dataclass
class RNNTensors:
    """Active tensors: ``w_ih (GH, W)``, ``w_hh (GH, H)``, biases ``(GH,)``, ``proj (W, H)``."""

    ln_w: Tensor
    ln_b: Tensor
    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor
    b_hh: Tensor
    proj_w: Tensor
    proj_b: Tensor
    aq: tuple[ActQuant, ActQuant]


def rnn_block_forward(x: Tensor, mask: Tensor, t: RNNTensors, run: RunRNN, *, wbits: int,
                      abits: int, training: bool) -> Tensor:
    """``x (B, W, L)`` masked -> ``x + f(x)``, masked. Causal, so padding cannot leak back."""
    xt = x.transpose(1, 2)  # (B, L, W)
    valid = mask.unsqueeze(-1)  # (B, L, 1)
    h = t.aq[0](F.layer_norm(xt, (xt.shape[-1],), t.ln_w, t.ln_b), abits, valid)
    zeros = h.new_zeros(1, h.shape[0], t.w_hh.shape[1])  # (layers, B, H)
    out = run(h, zeros, [qw(t.w_ih, wbits), qw(t.w_hh, wbits), t.b_ih, t.b_hh],
              training)  # (B, L, H)
    y = F.linear(t.aq[1](out, abits, valid), qw(t.proj_w, wbits), t.proj_b)  # (B, L, W)
    return x + y.transpose(1, 2) * mask.unsqueeze(1)


def rnn_params(rnn: nn.Module) -> list[Tensor]:
    """``[w_ih, w_hh, b_ih, b_hh]`` of a one-layer ``nn.LSTM`` / ``nn.GRU``."""
    out = [getattr(rnn, n) for n in RNN_PARAMS]
    assert all(isinstance(t, Tensor) for t in out)  # torch types them ``Tensor | Module``
    return out


def _quantizers(aq: nn.ModuleList) -> tuple[ActQuant, ActQuant]:
    a, b = aq
    assert isinstance(a, ActQuant) and isinstance(b, ActQuant)
    return a, b


def gate_rows(w: Tensor, gates: int, hmax: int, h: int, cols: int | None = None) -> Tensor:
    """First ``h`` rows of each of the ``gates`` blocks of ``w (gates*hmax, ...)``,
    concatenated (and its first ``cols`` columns)."""
    g = w.view(gates, hmax, *w.shape[1:])[:, :h]
    if cols is not None:
        g = g[..., :cols]
    return g.reshape(gates * h, *g.shape[2:])


def active_tensors(ln: nn.LayerNorm, rnn: nn.Module, proj: nn.Linear, aq: nn.ModuleList,
                   gates: int, hmax: int, width: int, h: int) -> RNNTensors:
    """The supernet block's slices for stage ``width`` and hidden size ``h``."""
    w_ih, w_hh, b_ih, b_hh = rnn_params(rnn)
    return RNNTensors(ln.weight[:width], ln.bias[:width], gate_rows(w_ih, gates, hmax, h, width),
                      gate_rows(w_hh, gates, hmax, h, h), gate_rows(b_ih, gates, hmax, h),
                      gate_rows(b_hh, gates, hmax, h), proj.weight[:width, :h],
                      proj.bias[:width], _quantizers(aq))


def whole_tensors(ln: nn.LayerNorm, rnn: nn.Module, proj: nn.Linear,
                  aq: nn.ModuleList) -> RNNTensors:
    """Every tensor of a static block."""
    w_ih, w_hh, b_ih, b_hh = rnn_params(rnn)
    return RNNTensors(ln.weight, ln.bias, w_ih, w_hh, b_ih, b_hh, proj.weight, proj.bias,
                      _quantizers(aq))


def copy_active(t: RNNTensors, ln: nn.LayerNorm, rnn: nn.Module, proj: nn.Linear) -> None:
    """Copy the active slices ``t`` into a static block's layers."""
    pairs = [(ln.weight, t.ln_w), (ln.bias, t.ln_b), *zip(rnn_params(rnn),
             (t.w_ih, t.w_hh, t.b_ih, t.b_hh), strict=True), (proj.weight, t.proj_w),
             (proj.bias, t.proj_b)]
    for dst, src in pairs:
        dst.data.copy_(src.detach())
