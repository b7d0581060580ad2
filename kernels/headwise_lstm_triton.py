"""Triton kernels of the head-wise LSTM (see :mod:`nasx.kernels.headwise_lstm`).

Grid: (batch blocks of ``BLOCK_B`` rows, heads). A program keeps its head's ``h`` and ``c``
(``(BLOCK_B, DH)``) in registers for the whole sequence; each step does four
``(BLOCK_B, DH) x (DH, DH)`` ``tl.dot`` products (IEEE fp32, no TF32) against the head's
recurrent weights, which stay L1/L2 resident. The product is taken in 16-wide slices of the
reduction dimension, re-reading ``h[t-1]`` from a small per-program scratch buffer, so no
``(DH, DH)`` operand has to sit in registers (DH = 64 would spill otherwise). ``DH`` is a
constexpr (16/32/64: one compiled kernel per head size); batch, heads and sequence length are
runtime values.

The forward stores every ``h`` and ``c``; the backward walks time in reverse, recomputing the
gates from ``h[t-1]`` and writing ``dL/dgates_x``; ``dR`` is then one batched matmul in torch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nasx.kernels._backend import KernelSpec, compute_dtype, tl, tl_dtype, triton

_BLOCK_B = 16  # tl.dot needs at least 16 rows
_KC = 16  # reduction slice of the recurrent matmul


@triton.jit
def _sigmoid(v):
    return 1.0 / (1.0 + tl.exp(-v))


@triton.jit
def _tanh(v):
    # 2 sigmoid(2v) - 1: exact enough (abs. error ~1e-7 in fp32) and needs no libdevice.
    return 2.0 / (1.0 + tl.exp(-2.0 * v)) - 1.0


@triton.jit
def _rec_matmul(acc, a_ptr, sa_b, r_ptr, sr_in, sr_out, BLOCK_B: tl.constexpr, DH: tl.constexpr,
                KC: tl.constexpr, ACC: tl.constexpr):  # fmt: skip
    # acc (BB, DH) += A (BB, DH) @ W (DH, DH), W[j, i] at r_ptr + j * sr_in + i * sr_out, in
    # KC-wide slices of the reduction dim: A is re-read from memory (per-program scratch or
    # the fp32 gradient buffer) so no full (DH, DH) operand has to live in registers.
    bb = tl.arange(0, BLOCK_B)
    kk = tl.arange(0, KC)
    oo = tl.arange(0, DH)
    for kc in range(DH // KC):  # a real loop: one slice live at a time
        a = tl.load(a_ptr + bb[:, None] * sa_b + (kc * KC + kk)[None, :]).to(ACC)  # (BB, KC)
        w = tl.load(r_ptr + (kc * KC + kk)[:, None] * sr_in + oo[None, :] * sr_out)  # (KC, DH)
        acc += tl.dot(a, w.to(ACC), input_precision="ieee")
    return acc


@triton.jit
def _hlstm_fwd_kernel(
    gx_ptr, r_ptr, h0_ptr, c0_ptr, h_ptr, c_ptr, scr_ptr,
    Bsz, L, r_step,
    sg_b, sg_l, sg_k, sg_h, sg_d,
    sr_h, sr_k, sr_i, sr_j,
    sh0_b, sh0_h, sh0_d,
    sc0_b, sc0_h, sc0_d,
    sh_b, sh_l, sh_h, sh_d,
    sc_b, sc_l, sc_h, sc_d,
    DH: tl.constexpr, BLOCK_B: tl.constexpr, KC: tl.constexpr, ACC: tl.constexpr,
):  # fmt: skip
    pid_b = tl.program_id(0)
    head = tl.program_id(1)
    bo = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)  # (BB,)
    do = tl.arange(0, DH)  # (DH,)
    m = (bo < Bsz)[:, None] & (do[None, :] < DH)  # (BB, DH)
    h0_off = bo[:, None] * sh0_b + head * sh0_h + do[None, :] * sh0_d
    c0_off = bo[:, None] * sc0_b + head * sc0_h + do[None, :] * sc0_d
    h = tl.load(h0_ptr + h0_off, mask=m, other=0.0).to(ACC)
    c = tl.load(c0_ptr + c0_off, mask=m, other=0.0).to(ACC)
    # This program's (BB, DH) scratch copy of h[t-1], read back in KC-wide slices.
    scr = scr_ptr + (pid_b * tl.num_programs(1) + head) * BLOCK_B * DH
    scr_tile = scr + tl.arange(0, BLOCK_B)[:, None] * DH + do[None, :]
    r_head = r_ptr + head * sr_h  # R[head, k][i, j]; used transposed: W[j, i]
    gx_row = gx_ptr + bo[:, None] * sg_b + head * sg_h + do[None, :] * sg_d  # (BB, DH) ptrs
    for t in range(L):
        # r_step is 0: R's address "depends" on t, so the compiler keeps its loads inside the
        # loop (one KC slice live at a time) instead of hoisting all of R into registers.
        r_head = r_head + t * r_step
        tl.store(scr_tile, h)
        tl.debug_barrier()
        gx_t = gx_row + t * sg_l
        pi = tl.load(gx_t, mask=m, other=0.0).to(ACC)
        pf = tl.load(gx_t + sg_k, mask=m, other=0.0).to(ACC)
        pg = tl.load(gx_t + 2 * sg_k, mask=m, other=0.0).to(ACC)
        po = tl.load(gx_t + 3 * sg_k, mask=m, other=0.0).to(ACC)
        pi = _rec_matmul(pi, scr, DH, r_head, sr_j, sr_i, BLOCK_B, DH, KC, ACC)
        pf = _rec_matmul(pf, scr, DH, r_head + sr_k, sr_j, sr_i, BLOCK_B, DH, KC, ACC)
        pg = _rec_matmul(pg, scr, DH, r_head + 2 * sr_k, sr_j, sr_i, BLOCK_B, DH, KC, ACC)
        po = _rec_matmul(po, scr, DH, r_head + 3 * sr_k, sr_j, sr_i, BLOCK_B, DH, KC, ACC)
        tl.debug_barrier()
        c = _sigmoid(pf) * c + _sigmoid(pi) * _tanh(pg)
        h = _sigmoid(po) * _tanh(c)
        h_off = bo[:, None] * sh_b + t * sh_l + head * sh_h + do[None, :] * sh_d
        tl.store(h_ptr + h_off, h, mask=m)
        c_off = bo[:, None] * sc_b + t * sc_l + head * sc_h + do[None, :] * sc_d
        tl.store(c_ptr + c_off, c, mask=m)


@triton.jit
def _hlstm_bwd_kernel(
    gh_ptr, gc_ptr, gx_ptr, r_ptr, h0_ptr, c0_ptr, h_ptr, c_ptr,
    dgx_ptr, dh0_ptr, dc0_ptr, scr_ptr,
    Bsz, L, r_step,
    sg_b, sg_l, sg_k, sg_h, sg_d,
    sr_h, sr_k, sr_i, sr_j,
    s0_b, s0_h, s0_d,
    ss_b, ss_l, ss_h, ss_d,
    DH: tl.constexpr, BLOCK_B: tl.constexpr, KC: tl.constexpr, ACC: tl.constexpr,
):  # fmt: skip
    # h0/c0/dh0/dc0 share strides s0_*; gh/gc/h_all/c_all share strides ss_*; gx and dgx
    # share sg_* (the launcher makes them contiguous). scr: per-program (4, BB, DH) buffer.
    pid_b = tl.program_id(0)
    head = tl.program_id(1)
    bo = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    do = tl.arange(0, DH)
    m = (bo < Bsz)[:, None] & (do[None, :] < DH)
    r_head = r_ptr + head * sr_h
    st_row = bo[:, None] * ss_b + head * ss_h + do[None, :] * ss_d  # (BB, DH) + t * ss_l
    s0_off = bo[:, None] * s0_b + head * s0_h + do[None, :] * s0_d
    g_row = bo[:, None] * sg_b + head * sg_h + do[None, :] * sg_d
    scr = scr_ptr + (pid_b * tl.num_programs(1) + head) * 4 * BLOCK_B * DH
    scr_tile = scr + tl.arange(0, BLOCK_B)[:, None] * DH + do[None, :]
    dh = tl.zeros((BLOCK_B, DH), dtype=ACC)  # dL/dh[t] from step t + 1
    dc = tl.zeros((BLOCK_B, DH), dtype=ACC)  # dL/dc[t] from step t + 1
    for tt in range(L):
        t = L - 1 - tt
        r_head = r_head + t * r_step  # r_step = 0; keeps R's loads in the loop (see forward)
        # h[t-1], c[t-1]: from the saved states, or h0/c0 at t = 0 (masks as tensors).
        later = m & ((bo * 0 + t) > 0)[:, None]
        first = m & ((bo * 0 + t) == 0)[:, None]
        h_p = tl.load(h_ptr + st_row + (t - 1) * ss_l, mask=later, other=0.0)
        h_p += tl.load(h0_ptr + s0_off, mask=first, other=0.0)
        c_p = tl.load(c_ptr + st_row + (t - 1) * ss_l, mask=later, other=0.0)
        c_p += tl.load(c0_ptr + s0_off, mask=first, other=0.0)
        c_p = c_p.to(ACC)
        c_t = tl.load(c_ptr + st_row + t * ss_l, mask=m, other=0.0).to(ACC)
        tl.store(scr_tile, h_p.to(ACC))
        tl.debug_barrier()
        gx_t = gx_ptr + g_row + t * sg_l
        pi = tl.load(gx_t, mask=m, other=0.0).to(ACC)
        pf = tl.load(gx_t + sg_k, mask=m, other=0.0).to(ACC)
        pg = tl.load(gx_t + 2 * sg_k, mask=m, other=0.0).to(ACC)
        po = tl.load(gx_t + 3 * sg_k, mask=m, other=0.0).to(ACC)
        gi = _sigmoid(_rec_matmul(pi, scr, DH, r_head, sr_j, sr_i, BLOCK_B, DH, KC, ACC))
        gf = _sigmoid(_rec_matmul(pf, scr, DH, r_head + sr_k, sr_j, sr_i, BLOCK_B, DH, KC, ACC))
        gg = _tanh(_rec_matmul(pg, scr, DH, r_head + 2 * sr_k, sr_j, sr_i, BLOCK_B, DH, KC, ACC))
        go = _sigmoid(_rec_matmul(po, scr, DH, r_head + 3 * sr_k, sr_j, sr_i, BLOCK_B, DH, KC, ACC))
        tl.debug_barrier()
        tc = _tanh(c_t)
        dh += tl.load(gh_ptr + st_row + t * ss_l, mask=m, other=0.0).to(ACC)
        dc += tl.load(gc_ptr + st_row + t * ss_l, mask=m, other=0.0).to(ACC)
        dc += dh * go * (1.0 - tc * tc)
        d_i = dc * gg * gi * (1.0 - gi)
        d_f = dc * c_p * gf * (1.0 - gf)
        d_g = dc * gi * (1.0 - gg * gg)
        d_o = dh * tc * go * (1.0 - go)
        dgx_t = dgx_ptr + g_row + t * sg_l
        tl.store(dgx_t, d_i, mask=m)
        tl.store(dgx_t + sg_k, d_f, mask=m)
        tl.store(dgx_t + 2 * sg_k, d_g, mask=m)
        tl.store(dgx_t + 3 * sg_k, d_o, mask=m)
        # dL/dh[t-1] = sum_k d_k @ R_k, with the d_k re-read in slices from the scratch.
        tl.store(scr_tile, d_i)
        tl.store(scr_tile + BLOCK_B * DH, d_f)
        tl.store(scr_tile + 2 * BLOCK_B * DH, d_g)
        tl.store(scr_tile + 3 * BLOCK_B * DH, d_o)
        tl.debug_barrier()
        dc = dc * gf
        dh = tl.zeros((BLOCK_B, DH), dtype=ACC)
        for k in tl.static_range(4):
            dh = _rec_matmul(dh, scr + k * BLOCK_B * DH, DH, r_head + k * sr_k, sr_i, sr_j,
                             BLOCK_B, DH, KC, ACC)  # fmt: skip
        tl.debug_barrier()
    tl.store(dh0_ptr + s0_off, dh, mask=m)
    tl.store(dc0_ptr + s0_off, dc, mask=m)


def _launch_options(dh: int) -> dict[str, int | bool]:
    # Chosen with tools/compile_gate.py: no spills on sm_90 for any head size.
    return {"num_warps": 4 if dh <= 16 else 8, "num_stages": 1, "enable_fp_fusion": True}


def headwise_lstm_fwd_triton(
    gx: Tensor,
    R: Tensor,
    h0: Tensor,
    c0: Tensor,
    out: tuple[Tensor, Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """Fused forward; arguments as :func:`nasx.kernels.headwise_lstm_ref`, any strides.

    Args:
        out: optional ``(h_all, c_all)`` destinations (``(Bt, L, NH, DH)``, any strides).

    Returns:
        ``(h_all, c_all)``, each ``(Bt, L, NH, DH)``.
    """
    bt, length, _, nh, dh = gx.shape
    if out is None:
        out = (gx.new_empty(bt, length, nh, dh), gx.new_empty(bt, length, nh, dh))
    h_all, c_all = out
    cdt = compute_dtype(gx, R, h0, c0)
    grid = (triton.cdiv(bt, _BLOCK_B), nh)
    scratch = torch.empty(grid[0] * nh * _BLOCK_B * dh, device=gx.device, dtype=cdt)
    _hlstm_fwd_kernel[grid](
        gx, R, h0, c0, h_all, c_all, scratch,
        bt, length, 0,
        *gx.stride(), *R.stride(), *h0.stride(), *c0.stride(), *h_all.stride(), *c_all.stride(),
        DH=dh, BLOCK_B=_BLOCK_B, KC=_KC, ACC=tl_dtype(cdt), **_launch_options(dh),
    )  # fmt: skip
    return h_all, c_all


def headwise_lstm_bwd_triton(
    gh: Tensor,
    gc: Tensor,
    gx: Tensor,
    R: Tensor,
    h0: Tensor,
    c0: Tensor,
    h_all: Tensor,
    c_all: Tensor,
) -> list[Tensor]:
    """Fused backward (reverse-time walk) plus one einsum for ``dR``.

    Args:
        gh, gc: gradients of ``h_all`` and ``c_all`` ``(Bt, L, NH, DH)``.

    Returns:
        ``[d gates_x, dR, dh0, dc0]`` shaped like the inputs.
    """
    bt, length, _, nh, dh = gx.shape
    cdt = compute_dtype(gx, R, h0, c0)
    gx_c = gx.contiguous()
    gh, gc, h_c, c_c = (t.contiguous() for t in (gh, gc, h_all, c_all))
    h0_c, c0_c = h0.contiguous(), c0.contiguous()
    dgx = torch.empty(gx.shape, device=gx.device, dtype=cdt)
    dh0 = torch.empty(h0.shape, device=gx.device, dtype=cdt)
    dc0 = torch.empty_like(dh0)
    grid = (triton.cdiv(bt, _BLOCK_B), nh)
    scratch = torch.empty(grid[0] * nh * 4 * _BLOCK_B * dh, device=gx.device, dtype=cdt)
    _hlstm_bwd_kernel[grid](
        gh, gc, gx_c, R, h0_c, c0_c, h_c, c_c,
        dgx, dh0, dc0, scratch,
        bt, length, 0,
        *gx_c.stride(), *R.stride(), *h0_c.stride(), *h_c.stride(),
        DH=dh, BLOCK_B=_BLOCK_B, KC=_KC, ACC=tl_dtype(cdt), **_launch_options(dh),
    )  # fmt: skip
    h_prev = torch.cat([h0_c.unsqueeze(1), h_c[:, :-1]], 1).to(cdt)  # (Bt, L, NH, DH)
    d_r = torch.einsum("blkhi,blhj->hkij", dgx, h_prev)  # (NH, 4, DH, DH)
    return [dgx.to(gx.dtype), d_r.to(R.dtype), dh0.to(h0.dtype), dc0.to(c0.dtype)]


def compile_specs() -> list[KernelSpec]:
    """fp32 instantiations of the head-wise LSTM kernels for every supported head size."""
    ptr, i32 = "*fp32", "i32"
    shape5 = ["sg_b", "sg_l", "sg_k", "sg_h", "sg_d", "sr_h", "sr_k", "sr_i", "sr_j"]
    fwd = {n: ptr for n in ("gx_ptr", "r_ptr", "h0_ptr", "c0_ptr", "h_ptr", "c_ptr", "scr_ptr")}
    fwd |= {n: i32 for n in ("Bsz", "L", "r_step", *shape5, "sh0_b", "sh0_h", "sh0_d")}
    fwd |= {n: i32 for n in ("sc0_b", "sc0_h", "sc0_d", "sh_b", "sh_l", "sh_h", "sh_d")}
    fwd |= {n: i32 for n in ("sc_b", "sc_l", "sc_h", "sc_d")}
    bwd = {n: ptr for n in ("gh_ptr", "gc_ptr", "gx_ptr", "r_ptr", "h0_ptr", "c0_ptr", "h_ptr")}
    bwd |= {n: ptr for n in ("c_ptr", "dgx_ptr", "dh0_ptr", "dc0_ptr", "scr_ptr")}
    bwd |= {n: i32 for n in ("Bsz", "L", "r_step", *shape5, "s0_b", "s0_h", "s0_d")}
    bwd |= {n: i32 for n in ("ss_b", "ss_l", "ss_h", "ss_d")}
    specs = []
    for dh in (16, 32, 64):
        consts = {"DH": dh, "BLOCK_B": _BLOCK_B, "KC": _KC, "ACC": tl.float32}
        opts = _launch_options(dh)
        for name, fn, sig in (("fwd", _hlstm_fwd_kernel, fwd), ("bwd", _hlstm_bwd_kernel, bwd)):
            sig = sig | {k: "constexpr" for k in consts}
            specs.append(KernelSpec(f"headwise_lstm_{name}_dh{dh}", fn, sig, consts, opts))
    return specs
