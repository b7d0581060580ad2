"""Causal depthwise conv1d + bias + activation (+ gate), fused.

    y = act(conv(x, w) + bias) * gate        x, gate, y: (Bt, C, L); w: (C, K); bias: (C,)

``conv`` is causal (output ``t`` sees inputs ``t-K+1 .. t``, zeros before the start) and
depthwise (one filter per channel). ``act`` is ``"silu"``, ``"relu"`` or ``None``; ``gate`` is
optional and multiplies the activated output as is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from nasx.kernels._backend import recompute_grads, use_triton

ACTIVATIONS = ("silu", "relu")


def _check_activation(activation: str | None) -> None:
    if activation is not None and activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS} or None, got {activation!r}")


def causal_dwconv1d_ref(
    x: Tensor,
    w: Tensor,
    bias: Tensor | None = None,
    activation: str | None = None,
    gate: Tensor | None = None,
) -> Tensor:
    """Pure-torch twin: ``F.conv1d`` on the left-padded input, then activation and gate.

    Args:
        x: ``(Bt, C, L)``; w: ``(C, K)``; bias: ``(C,)`` or ``None``;
        activation: ``"silu"``, ``"relu"`` or ``None``; gate: ``(Bt, C, L)`` or ``None``.

    Returns:
        ``(Bt, C, L)``.
    """
    _check_activation(activation)
    k = w.shape[1]
    y = F.conv1d(F.pad(x, (k - 1, 0)), w.unsqueeze(1), bias, groups=x.shape[1])  # (Bt, C, L)
    if activation == "silu":
        y = F.silu(y)
    elif activation == "relu":
        y = F.relu(y)
    if gate is not None:
        y = y * gate
    return y


@torch.library.custom_op("nasx::causal_dwconv1d", mutates_args=())
def _dwconv_op(
    x: Tensor, w: Tensor, bias: Tensor | None, activation: str | None, gate: Tensor | None
) -> Tensor:
    if use_triton(x):
        from nasx.kernels.causal_dwconv_triton import causal_dwconv1d_fwd_triton

        return causal_dwconv1d_fwd_triton(x, w, bias, activation, gate)
    return causal_dwconv1d_ref(x, w, bias, activation, gate).contiguous()


@_dwconv_op.register_fake
def _(x, w, bias, activation, gate):
    return x.new_empty(x.shape)  # outputs are contiguous


@torch.library.custom_op("nasx::causal_dwconv1d_bwd", mutates_args=())
def _dwconv_bwd_op(
    gy: Tensor,
    x: Tensor,
    w: Tensor,
    bias: Tensor | None,
    activation: str | None,
    gate: Tensor | None,
) -> list[Tensor]:
    if use_triton(x):
        from nasx.kernels.causal_dwconv_triton import causal_dwconv1d_bwd_triton

        return causal_dwconv1d_bwd_triton(gy, x, w, bias, activation, gate)
    # Only reached when called directly (the backward formula recomputes under autograd off
    # the Triton path): the vector-Jacobian product of the twin.
    primals = [x, w] + [t for t in (bias, gate) if t is not None]

    def fn(x_: Tensor, w_: Tensor, *rest: Tensor) -> Tensor:
        it = iter(rest)
        b_ = next(it) if bias is not None else None
        g_ = next(it) if gate is not None else None
        return causal_dwconv1d_ref(x_, w_, b_, activation, g_)

    _, vjp = torch.func.vjp(fn, *primals)
    grads = list(vjp(gy))
    dx, dw = grads[0], grads[1]
    rest = iter(grads[2:])
    dbias = next(rest) if bias is not None else x.new_empty(0)
    dgate = next(rest) if gate is not None else x.new_empty(0)
    return [dx, dw, dbias, dgate]


@_dwconv_bwd_op.register_fake
def _(gy, x, w, bias, activation, gate):
    dbias = bias.new_empty(bias.shape) if bias is not None else x.new_empty(0)
    dgate = gate.new_empty(gate.shape) if gate is not None else x.new_empty(0)
    return [x.new_empty(x.shape), w.new_empty(w.shape), dbias, dgate]


def _dwconv_setup_context(ctx, inputs, output) -> None:
    x, w, bias, activation, gate = inputs
    ctx.activation = activation
    ctx.has_bias, ctx.has_gate = bias is not None, gate is not None
    ctx.save_for_backward(x, w, bias, gate)


def _dwconv_backward(ctx, gy: Tensor):
    x, w, bias, gate = ctx.saved_tensors
    if not use_triton(x):
        inputs = [x, w, bias, ctx.activation, gate]
        return tuple(recompute_grads(causal_dwconv1d_ref, inputs, gy))
    dx, dw, dbias, dgate = _dwconv_bwd_op(gy.contiguous(), x, w, bias, ctx.activation, gate)
    return dx, dw, dbias if ctx.has_bias else None, None, dgate if ctx.has_gate else None


_dwconv_op.register_autograd(_dwconv_backward, setup_context=_dwconv_setup_context)


def causal_dwconv1d(
    x: Tensor,
    w: Tensor,
    bias: Tensor | None = None,
    activation: str | None = None,
    gate: Tensor | None = None,
) -> Tensor:
    """Fused causal depthwise conv through the ``nasx::causal_dwconv1d`` custom op.

    CPU runs :func:`causal_dwconv1d_ref`; CUDA the Triton kernels (forward and backward). The
    kernel size is a runtime value, so centre-cropped elastic kernels do not recompile.

    Args:
        x: ``(Bt, C, L)``; w: ``(C, K)``; bias: ``(C,)`` or ``None``;
        activation: ``"silu"``, ``"relu"`` or ``None``; gate: ``(Bt, C, L)`` or ``None``.

    Returns:
        ``(Bt, C, L)``.
    """
    _check_activation(activation)
    return _dwconv_op(x, w, bias, activation, gate)
