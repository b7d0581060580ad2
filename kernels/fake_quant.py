"""Fake quantization with a straight-through estimator (STE): the reference twins.

Weights: per output channel (row), symmetric, ``scale = max|w_row| / qmax`` (at least 1e-8),
``q = clamp(round(w / scale), -qmax, qmax) * scale`` with ``qmax = 2**(bits-1) - 1`` and torch's
rounding (half to even). Activations: one scale per tensor, ``scale = range / qmax``. In both, the
forward value is ``q`` and the gradient passes straight through to the input unchanged.

:func:`fake_quant_weight` / :func:`fake_quant_act` dispatch through the ``nasx::fake_quant_*``
custom ops: these twins on CPU, the bit-exact fused Triton kernels of
:mod:`nasx.kernels.fake_quant_triton` on CUDA.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nasx.kernels._backend import use_triton

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
    """Per-tensor symmetric fake quantization of ``x`` with range ``amax`` (0-d), with STE."""
    if bits >= FLOAT_BITS:
        return x
    qmax = qmax_for(bits)
    scale = (amax.detach() / qmax).clamp_min(_MIN_SCALE)
    q = torch.clamp(torch.round(x.detach() / scale), -qmax, qmax) * scale
    return x + (q - x).detach()


@torch.library.custom_op("nasx::fake_quant_weight", mutates_args=())
def _fake_quant_weight_op(w: Tensor, bits: int) -> Tensor:
    if use_triton(w):
        from nasx.kernels.fake_quant_triton import fake_quant_weight_triton

        return fake_quant_weight_triton(w, bits)
    with torch.no_grad():
        return fake_quant_weight_ref(w, bits).contiguous()


@_fake_quant_weight_op.register_fake
def _(w: Tensor, bits: int) -> Tensor:
    return torch.empty_like(w, memory_format=torch.contiguous_format)


@torch.library.custom_op("nasx::fake_quant_act", mutates_args=())
def _fake_quant_act_op(x: Tensor, bits: int, amax: Tensor) -> Tensor:
    if use_triton(x):
        from nasx.kernels.fake_quant_triton import fake_quant_act_triton

        return fake_quant_act_triton(x, bits, amax)
    with torch.no_grad():
        return fake_quant_act_ref(x, bits, amax).contiguous()


@_fake_quant_act_op.register_fake
def _(x: Tensor, bits: int, amax: Tensor) -> Tensor:
    return torch.empty_like(x, memory_format=torch.contiguous_format)


def _ste_weight(ctx, grad: Tensor):
    return grad, None  # straight through to w; the scale (from w.detach()) gets none


def _ste_act(ctx, grad: Tensor):
    return grad, None, None  # straight through to x; amax is detached in the twin too


_fake_quant_weight_op.register_autograd(_ste_weight)
_fake_quant_act_op.register_autograd(_ste_act)


def fake_quant_weight(w: Tensor, bits: int) -> Tensor:
    """Per-channel weight fake quantization used by the supernet and extracted modules.

    On CUDA it runs the ``nasx::fake_quant_weight`` custom op (the fused Triton kernel, which
    reads sliced weights in place); elsewhere it calls the twin directly, with plain autograd,
    because the custom-op round trip costs about a fifth of a CPU training step of these small
    nets (and plain ops export to ONNX as they are). Gradients pass straight through. Returns
    ``w`` itself when ``bits >= FLOAT_BITS``.
    """
    if bits >= FLOAT_BITS:
        return w
    if not use_triton(w):
        return fake_quant_weight_ref(w, bits)
    return _fake_quant_weight_op(w, bits)


def fake_quant_act(x: Tensor, bits: int, amax: Tensor) -> Tensor:
    """Per-tensor activation fake quantization used by the supernet and extracted modules.

    On CUDA it runs the ``nasx::fake_quant_act`` custom op, elsewhere the twin directly (see
    :func:`fake_quant_weight`); gradients pass straight through to ``x``. Returns ``x`` itself
    when ``bits >= FLOAT_BITS``.
    """
    if bits >= FLOAT_BITS:
        return x
    if not use_triton(x):
        return fake_quant_act_ref(x, bits, amax)
    return _fake_quant_act_op(x, bits, amax)
