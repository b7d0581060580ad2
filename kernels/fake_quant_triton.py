"""Triton kernels of the fake quantizers (see :mod:`nasx.kernels.fake_quant`).

Bit-exact with the torch twins in fp32: the same operations in the same order
(``scale = max(amax / qmax, 1e-8)``, ``q = clamp(round(w / scale)) * scale``,
``out = w + (q - w)``), IEEE division (``div_rn``, not Triton's default approximate fp32
``/``), no FMA contraction (``enable_fp_fusion=False``), and round half to even written out
by hand (no libdevice ``rint``, which the interpreter lacks).

Weights: one program per output row; the row is addressed through up to two column strides,
so sliced, non-contiguous views (``w[:48, :32]`` of a larger tensor, or a 3-d conv weight
slice) are read in place, and the output may be any strided view as well.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nasx.kernels._backend import KernelSpec, compute_dtype, tl, tl_dtype, triton

_BLOCK = 256
_MIN_SCALE = tl.constexpr(1e-8)  # the twin's clamp_min


@triton.jit
def _div(a, b, IS_F64: tl.constexpr):
    if IS_F64:
        return a / b  # div.rn.f64 on NVIDIA
    else:
        return tl.math.div_rn(a, b)


@triton.jit
def round_half_even(r):
    """Round to the nearest integer, ties to even (``torch.round``), without libdevice."""
    f = tl.floor(r)
    d = r - f  # in [0, 1]; exact for |r| >= 1, correct tie detection below 1
    half = f * 0.5
    odd = half != tl.floor(half)
    up = (d > 0.5) | ((d == 0.5) & odd)
    return tl.where(up, f + 1.0, f)


@triton.jit
def _quantize(v, scale, qmax, ACC: tl.constexpr, IS_F64: tl.constexpr):
    r = round_half_even(_div(v, scale, IS_F64))
    r = tl.minimum(tl.maximum(r, -qmax, propagate_nan=tl.PropagateNan.ALL), qmax,
                   propagate_nan=tl.PropagateNan.ALL)  # fmt: skip
    q = r * scale
    return v + (q - v)  # the straight-through form of the twin, same rounding


@triton.jit
def _fq_weight_kernel(
    w_ptr, o_ptr,
    M, M2, qmax,
    sw_r, sw_1, sw_2, so_r, so_1, so_2,
    BLOCK: tl.constexpr, ACC: tl.constexpr, IS_F64: tl.constexpr,
):  # fmt: skip
    # A row has M columns; column j sits at (j // M2) * s_1 + (j % M2) * s_2.
    row = tl.program_id(0)
    w_row = w_ptr + row * sw_r
    o_row = o_ptr + row * so_r
    amax = tl.zeros((BLOCK,), dtype=ACC)
    for j0 in range(0, M, BLOCK):
        j = j0 + tl.arange(0, BLOCK)
        v = tl.load(w_row + (j // M2) * sw_1 + (j % M2) * sw_2, mask=j < M, other=0.0)
        amax = tl.maximum(amax, tl.abs(v.to(ACC)), propagate_nan=tl.PropagateNan.ALL)
    amax_s = tl.max(amax, axis=0)
    scale = tl.maximum(_div(amax_s, tl.cast(qmax, ACC), IS_F64), _MIN_SCALE)
    for j0 in range(0, M, BLOCK):
        j = j0 + tl.arange(0, BLOCK)
        jm = j < M
        v = tl.load(w_row + (j // M2) * sw_1 + (j % M2) * sw_2, mask=jm, other=0.0).to(ACC)
        out = _quantize(v, scale, tl.cast(qmax, ACC), ACC, IS_F64)
        tl.store(o_row + (j // M2) * so_1 + (j % M2) * so_2, out, mask=jm)


@triton.jit
def _fq_act_kernel(
    x_ptr, amax_ptr, o_ptr, numel, qmax,
    BLOCK: tl.constexpr, ACC: tl.constexpr, IS_F64: tl.constexpr,
):  # fmt: skip
    # x and out contiguous, flat.
    off = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = off < numel
    amax = tl.load(amax_ptr).to(ACC)
    scale = tl.maximum(_div(amax, tl.cast(qmax, ACC), IS_F64), _MIN_SCALE)
    v = tl.load(x_ptr + off, mask=m, other=0.0).to(ACC)
    tl.store(o_ptr + off, _quantize(v, scale, tl.cast(qmax, ACC), ACC, IS_F64), mask=m)


def _as_3d(t: Tensor) -> tuple[int, int, tuple[int, int, int]]:
    """(columns per row, last column dim size, (row, col1, col2) strides) of a 1-3 d tensor."""
    if t.dim() == 1:
        return 1, 1, (t.stride(0), 0, 0)
    if t.dim() == 2:
        return t.shape[1], t.shape[1], (t.stride(0), 0, t.stride(1))
    if t.dim() == 3:
        return t.shape[1] * t.shape[2], t.shape[2], (t.stride(0), t.stride(1), t.stride(2))
    raise ValueError(f"fake_quant_weight_triton supports 1-3 d weights, got {t.dim()} dims")


def fake_quant_weight_triton(w: Tensor, bits: int, out: Tensor | None = None) -> Tensor:
    """Per-row fake quantization of a 1-3 d weight of any strides (forward value only).

    Args:
        w: ``(O, ...)`` weight, possibly a non-contiguous slice; rows are dim 0.
        bits: code width (< 32).
        out: optional destination shaped like ``w`` (any strides).

    Returns:
        ``q`` shaped like ``w``, equal bit for bit to :func:`fake_quant_weight_ref` (fp32/fp64).
    """
    from nasx.kernels.fake_quant import qmax_for

    if w.dim() > 3:  # the rows stay rows; only the columns are flattened
        flat = fake_quant_weight_triton(w.reshape(w.shape[0], -1), bits)
        return flat.reshape(w.shape) if out is None else out.copy_(flat.reshape(w.shape))
    o = torch.empty_like(w, memory_format=torch.contiguous_format) if out is None else out
    m, m2, ws = _as_3d(w)
    _, _, os_ = _as_3d(o)
    cdt = compute_dtype(w)
    if w.shape[0] and m:
        _fq_weight_kernel[(w.shape[0],)](
            w, o, m, m2, float(qmax_for(bits)), *ws, *os_,
            BLOCK=_BLOCK, ACC=tl_dtype(cdt), IS_F64=cdt == torch.float64,
            num_warps=4, enable_fp_fusion=False,
        )  # fmt: skip
    return o


def fake_quant_act_triton(x: Tensor, bits: int, amax: Tensor, out: Tensor | None = None) -> Tensor:
    """Per-tensor fake quantization (forward value only), bit-exact with the twin in fp32.

    Args:
        x: any shape; amax: 0-d range; out: optional contiguous destination shaped like ``x``.

    Returns:
        ``q`` shaped like ``x``.
    """
    from nasx.kernels.fake_quant import qmax_for

    xc = x.contiguous()
    o = torch.empty_like(xc) if out is None else out
    cdt = compute_dtype(x)
    n = xc.numel()
    if n:
        _fq_act_kernel[(triton.cdiv(n, _BLOCK * 4),)](
            xc, amax.to(x.dtype), o, n, float(qmax_for(bits)),
            BLOCK=_BLOCK * 4, ACC=tl_dtype(cdt), IS_F64=cdt == torch.float64,
            num_warps=4, enable_fp_fusion=False,
        )  # fmt: skip
    return o


def compile_specs() -> list[KernelSpec]:
    """fp32 instantiations of the fake-quant kernels."""
    opts = {"num_warps": 4, "enable_fp_fusion": False}
    wsig = {"w_ptr": "*fp32", "o_ptr": "*fp32", "M": "i32", "M2": "i32", "qmax": "fp32"}
    wsig |= {n: "i32" for n in ("sw_r", "sw_1", "sw_2", "so_r", "so_1", "so_2")}
    wc = {"BLOCK": _BLOCK, "ACC": tl.float32, "IS_F64": False}
    asig = {"x_ptr": "*fp32", "amax_ptr": "*fp32", "o_ptr": "*fp32", "numel": "i32", "qmax": "fp32"}
    ac = {"BLOCK": _BLOCK * 4, "ACC": tl.float32, "IS_F64": False}
    return [
        KernelSpec("fake_quant_weight", _fq_weight_kernel, wsig | dict.fromkeys(wc, "constexpr"),
                   wc, opts),
        KernelSpec("fake_quant_act", _fq_act_kernel, asig | dict.fromkeys(ac, "constexpr"),
                   ac, opts),
    ]  # fmt: skip
