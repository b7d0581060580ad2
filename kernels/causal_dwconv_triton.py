"""Triton kernels of the causal depthwise conv (see :mod:`nasx.kernels.causal_dwconv`).

A program computes a ``(BLOCK_C, BLOCK_L)`` output tile of one batch row: ``K`` shifted,
masked loads of ``x`` (zeros before ``t = 0``), bias, activation and gate, one store. ``K``
and ``L`` are runtime values. Backward: one kernel recomputes the pre-activation and writes
``dL/dpre`` and ``dL/dgate``; a second applies the time-reversed filter for ``dL/dx``; ``dw`` and
``dbias`` are reductions done in torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from nasx.kernels._backend import KernelSpec, compute_dtype, tl, tl_dtype, triton

_BLOCK_C = 16
_BLOCK_L = 64
_ACT_CODE = {None: 0, "silu": 1, "relu": 2}


@triton.jit
def _conv_tile(
    x_row, w_row, tl_off, cm, L, K, sx_l, sw_k,
    BLOCK_C: tl.constexpr, BLOCK_L: tl.constexpr, ACC: tl.constexpr,
):  # fmt: skip
    # sum_k w[c, k] * x[c, t - (K - 1) + k] over a (BC, BL) tile; x_row/w_row: (BC, 1) ptrs.
    acc = tl.zeros((BLOCK_C, BLOCK_L), dtype=ACC)
    for k in range(K):
        src = tl_off - (K - 1) + k  # (1, BL)
        xv = tl.load(x_row + src * sx_l, mask=cm & (src >= 0) & (src < L), other=0.0)
        wv = tl.load(w_row + k * sw_k, mask=cm, other=0.0)
        acc += wv.to(ACC) * xv.to(ACC)
    return acc


@triton.jit
def _dwconv_fwd_kernel(
    x_ptr, w_ptr, bias_ptr, gate_ptr, y_ptr,
    C, L, K,
    sx_b, sx_c, sx_l, sw_c, sw_k, sg_b, sg_c, sg_l, sy_b, sy_c, sy_l,
    HAS_BIAS: tl.constexpr, HAS_GATE: tl.constexpr, ACT: tl.constexpr,
    BLOCK_C: tl.constexpr, BLOCK_L: tl.constexpr, ACC: tl.constexpr,
):  # fmt: skip
    pid_b = tl.program_id(0)
    co = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)[:, None]  # (BC, 1)
    to = tl.program_id(2) * BLOCK_L + tl.arange(0, BLOCK_L)[None, :]  # (1, BL)
    cm = co < C
    m = cm & (to < L)
    v = _conv_tile(x_ptr + pid_b * sx_b + co * sx_c, w_ptr + co * sw_c, to, cm, L, K,
                   sx_l, sw_k, BLOCK_C, BLOCK_L, ACC)  # fmt: skip
    if HAS_BIAS:
        v += tl.load(bias_ptr + co, mask=cm, other=0.0).to(ACC)
    if ACT == 1:
        v = v / (1.0 + tl.exp(-v))
    elif ACT == 2:
        v = tl.maximum(v, 0.0)
    if HAS_GATE:
        v = v * tl.load(gate_ptr + pid_b * sg_b + co * sg_c + to * sg_l, mask=m).to(ACC)
    tl.store(y_ptr + pid_b * sy_b + co * sy_c + to * sy_l, v, mask=m)


@triton.jit
def _dwconv_bwd_pre_kernel(
    x_ptr, w_ptr, bias_ptr, gate_ptr, gy_ptr, dpre_ptr, dgate_ptr,
    C, L, K,
    sx_b, sx_c, sx_l, sw_c, sw_k, sg_b, sg_c, sg_l,
    HAS_BIAS: tl.constexpr, HAS_GATE: tl.constexpr, ACT: tl.constexpr,
    BLOCK_C: tl.constexpr, BLOCK_L: tl.constexpr, ACC: tl.constexpr,
):  # fmt: skip
    # gy, dpre, dgate: contiguous (Bt, C, L).
    pid_b = tl.program_id(0)
    co = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)[:, None]
    to = tl.program_id(2) * BLOCK_L + tl.arange(0, BLOCK_L)[None, :]
    cm = co < C
    m = cm & (to < L)
    pre = _conv_tile(x_ptr + pid_b * sx_b + co * sx_c, w_ptr + co * sw_c, to, cm, L, K,
                     sx_l, sw_k, BLOCK_C, BLOCK_L, ACC)  # fmt: skip
    if HAS_BIAS:
        pre += tl.load(bias_ptr + co, mask=cm, other=0.0).to(ACC)
    off = (pid_b * C + co) * L + to
    g = tl.load(gy_ptr + off, mask=m, other=0.0).to(ACC)
    if ACT == 1:
        sig = 1.0 / (1.0 + tl.exp(-pre))
        act = pre * sig
        dact = sig * (1.0 + pre * (1.0 - sig))
    elif ACT == 2:
        act = tl.maximum(pre, 0.0)
        dact = tl.where(pre > 0.0, 1.0, 0.0)
    else:
        act = pre
        dact = tl.full(pre.shape, 1.0, ACC)
    if HAS_GATE:
        gate = tl.load(gate_ptr + pid_b * sg_b + co * sg_c + to * sg_l, mask=m).to(ACC)
        tl.store(dgate_ptr + off, g * act, mask=m)
        g = g * gate
    tl.store(dpre_ptr + off, g * dact, mask=m)


@triton.jit
def _dwconv_bwd_x_kernel(
    dpre_ptr, w_ptr, dx_ptr,
    C, L, K, sw_c, sw_k,
    BLOCK_C: tl.constexpr, BLOCK_L: tl.constexpr, ACC: tl.constexpr,
):  # fmt: skip
    # dx[c, s] = sum_k w[c, k] * dpre[c, s + K - 1 - k]; dpre, dx contiguous (Bt, C, L).
    pid_b = tl.program_id(0)
    co = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)[:, None]
    so = tl.program_id(2) * BLOCK_L + tl.arange(0, BLOCK_L)[None, :]
    cm = co < C
    row = dpre_ptr + (pid_b * C + co) * L  # (BC, 1)
    acc = tl.zeros((BLOCK_C, BLOCK_L), dtype=ACC)
    for k in range(K):
        src = so + (K - 1) - k
        dv = tl.load(row + src, mask=cm & (src < L), other=0.0)
        wv = tl.load(w_ptr + co * sw_c + k * sw_k, mask=cm, other=0.0)
        acc += wv.to(ACC) * dv.to(ACC)
    tl.store(dx_ptr + (pid_b * C + co) * L + so, acc, mask=cm & (so < L))


def _grid(bt: int, c: int, length: int) -> tuple[int, int, int]:
    return bt, triton.cdiv(c, _BLOCK_C), triton.cdiv(length, _BLOCK_L)


def causal_dwconv1d_fwd_triton(
    x: Tensor,
    w: Tensor,
    bias: Tensor | None = None,
    activation: str | None = None,
    gate: Tensor | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """Fused forward; arguments as :func:`nasx.kernels.causal_dwconv1d_ref`, any strides.

    Args:
        out: optional ``(Bt, C, L)`` destination (any strides).

    Returns:
        ``(Bt, C, L)``.
    """
    bt, c, length = x.shape
    y = x.new_empty(x.shape) if out is None else out
    g = x if gate is None else gate
    _dwconv_fwd_kernel[_grid(bt, c, length)](
        x, w, x if bias is None else bias, g, y,
        c, length, w.shape[1],
        *x.stride(), *w.stride(), *g.stride(), *y.stride(),
        HAS_BIAS=bias is not None, HAS_GATE=gate is not None, ACT=_ACT_CODE[activation],
        BLOCK_C=_BLOCK_C, BLOCK_L=_BLOCK_L, ACC=tl_dtype(compute_dtype(x, w, bias, gate)),
        num_warps=4, enable_fp_fusion=True,
    )  # fmt: skip
    return y


def causal_dwconv1d_bwd_triton(
    gy: Tensor,
    x: Tensor,
    w: Tensor,
    bias: Tensor | None,
    activation: str | None,
    gate: Tensor | None,
) -> list[Tensor]:
    """Fused backward.

    Returns:
        ``[dx, dw, dbias, dgate]`` (``dbias``/``dgate`` empty when the input is ``None``).
    """
    bt, c, length = x.shape
    k = w.shape[1]
    cdt = compute_dtype(x, w, bias, gate)
    gy = gy.contiguous()
    dpre = torch.empty(bt, c, length, device=x.device, dtype=cdt)
    dgate = torch.empty_like(dpre) if gate is not None else dpre
    g = x if gate is None else gate
    grid = _grid(bt, c, length)
    _dwconv_bwd_pre_kernel[grid](
        x, w, x if bias is None else bias, g, gy, dpre, dgate,
        c, length, k,
        *x.stride(), *w.stride(), *g.stride(),
        HAS_BIAS=bias is not None, HAS_GATE=gate is not None, ACT=_ACT_CODE[activation],
        BLOCK_C=_BLOCK_C, BLOCK_L=_BLOCK_L, ACC=tl_dtype(cdt),
        num_warps=4, enable_fp_fusion=True,
    )  # fmt: skip
    dx = torch.empty_like(dpre)
    _dwconv_bwd_x_kernel[grid](
        dpre, w, dx, c, length, k, *w.stride(),
        BLOCK_C=_BLOCK_C, BLOCK_L=_BLOCK_L, ACC=tl_dtype(cdt),
        num_warps=4, enable_fp_fusion=True,
    )  # fmt: skip
    windows = F.pad(x.to(cdt), (k - 1, 0)).unfold(-1, length, 1)  # (Bt, C, K, L)
    dw = torch.einsum("bcl,bckl->ck", dpre, windows)
    dbias = dpre.sum(dim=(0, 2)).to(bias.dtype) if bias is not None else x.new_empty(0)
    dgate = dgate.to(gate.dtype) if gate is not None else x.new_empty(0)
    return [dx.to(x.dtype), dw.to(w.dtype), dbias, dgate]


def compile_specs() -> list[KernelSpec]:
    """fp32 instantiations (bias, SiLU, gate) of the depthwise-conv kernels."""
    ptr, i32 = "*fp32", "i32"
    consts = {"HAS_BIAS": True, "HAS_GATE": True, "ACT": 1}
    blocks = {"BLOCK_C": _BLOCK_C, "BLOCK_L": _BLOCK_L, "ACC": tl.float32}
    xs = ["sx_b", "sx_c", "sx_l", "sw_c", "sw_k", "sg_b", "sg_c", "sg_l"]
    fwd = {n: ptr for n in ("x_ptr", "w_ptr", "bias_ptr", "gate_ptr", "y_ptr")}
    fwd |= {n: i32 for n in ("C", "L", "K", *xs, "sy_b", "sy_c", "sy_l")}
    pre = {n: ptr for n in ("x_ptr", "w_ptr", "bias_ptr", "gate_ptr", "gy_ptr", "dpre_ptr")}
    pre |= {"dgate_ptr": ptr} | {n: i32 for n in ("C", "L", "K", *xs)}
    bwx = {n: ptr for n in ("dpre_ptr", "w_ptr", "dx_ptr")}
    bwx |= {n: i32 for n in ("C", "L", "K", "sw_c", "sw_k")}
    opts = {"num_warps": 4, "enable_fp_fusion": True}
    out = []
    for name, fn, sig, cst in (
        ("causal_dwconv1d_fwd", _dwconv_fwd_kernel, fwd, consts | blocks),
        ("causal_dwconv1d_bwd_pre", _dwconv_bwd_pre_kernel, pre, consts | blocks),
        ("causal_dwconv1d_bwd_x", _dwconv_bwd_x_kernel, bwx, blocks),
    ):
        out.append(KernelSpec(name, fn, sig | {k: "constexpr" for k in cst}, cst, opts))
    return out
