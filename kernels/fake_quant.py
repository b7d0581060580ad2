"""Fake quantization with a straight-through estimator (STE): the reference twins.

Weights: per output channel (row), symmetric, ``scale = max|w_row| / qmax`` (at least 1e-8),
``q = clamp(round(w / scale), -qmax, qmax) * scale`` with ``qmax = 2**(bits-1) - 1`` and torch's
rounding (half to even). Activations: one scale per tensor, ``scale = range / qmax``. In both, the
forward value is ``q`` and the gradient passes straight through to the input unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor

FLOAT_BITS = 32
_MIN_SCALE = 1e-8


def qmax_for(bits: int) -> int:
    """Largest integer code of a signed symmetric ``bits``-bit quantizer (127 for 8 bits)."""
    return 2 ** (bits - 1) - 1


def weight_scales(w: Tensor, bits: int) -> Tensor:
    """Per-row scales of ``w`` (``(O, ...)`` -> ``(O,)``) for symmetric ``bits``-bit codes."""
    amax = w.detach().abs().reshape(w.shape[0], -1).amax(dim=1)
    return (amax / qmax_for(bits)).clamp_min(_MIN_SCALE)


def fake_quant_weight_ref(w: Tensor, bits: int) -> Tensor:
    """Per-channel symmetric fake quantization of ``w`` (any shape, rows = dim 0), with STE."""
    if bits >= FLOAT_BITS:
        return w
    qmax = qmax_for(bits)
    scale = weight_scales(w, bits).reshape(-1, *([1] * (w.dim() - 1)))
    q = torch.clamp(torch.round(w.detach() / scale), -qmax, qmax) * scale
    return w + (q - w).detach()


def fake_quant_act_ref(x: Tensor, bits: int, amax: Tensor) -> Tensor:
    """Per-tensor symmetric fake quantization of ``x`` with range ``amax`` (a 0-d tensor), with STE."""
    if bits >= FLOAT_BITS:
        return x
    qmax = qmax_for(bits)
    scale = (amax.detach() / qmax).clamp_min(_MIN_SCALE)
    q = torch.clamp(torch.round(x.detach() / scale), -qmax, qmax) * scale
    return x + (q - x).detach()


def fake_quant_weight(w: Tensor, bits: int) -> Tensor:
    """Per-channel weight fake quantization used by the supernet and extracted modules."""
    return fake_quant_weight_ref(w, bits)


def fake_quant_act(x: Tensor, bits: int, amax: Tensor) -> Tensor:
    """Per-tensor activation fake quantization used by the supernet and extracted modules."""
    return fake_quant_act_ref(x, bits, amax)
