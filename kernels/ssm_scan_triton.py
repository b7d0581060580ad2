"""Triton kernels of the diagonal / selective SSM scan (see :mod:`nasx.kernels.ssm_scan`).

One program owns one batch row and ``BLOCK_E`` channels and keeps their ``(BLOCK_E, BLOCK_N)``
state in registers for the whole sequence; discretisation (``exp(dt A)``), the ``C``
contraction, the ``D`` skip and the ``silu(z)`` gate are fused into the same loop.

Time-invariant and selective inputs share one kernel: every operand is addressed through four
strides ``(batch, channel, state, time)`` and a broadcast dimension has stride 0 (``dt: (E,)`` has
batch and time stride 0, ``B: (E, N)`` batch and time stride 0, ``B: (Bt, N, L)`` channel
stride 0). The sequence length is a runtime argument, so no subnet length recompiles.

Backward (no state is saved by the forward): the kernel first re-runs the scan, writing the
state at every chunk start (``CH`` steps apart) to a checkpoint buffer; then, chunk by chunk
from the end, it recomputes the chunk's states into a per-program scratch buffer and walks
them in reverse, carrying ``dL/dh``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nasx.kernels._backend import KernelSpec, compute_dtype, tl, tl_dtype, triton

_CHUNK = 64  # backward checkpoint spacing (steps)
# Chosen with tools/compile_gate.py (sm_90, N = 16, BLOCK_E = 32): no spills.
_FWD_OPTIONS = {"num_warps": 4, "num_stages": 1, "enable_fp_fusion": True}
_BWD_OPTIONS = {"num_warps": 8, "num_stages": 1, "enable_fp_fusion": True}


def _block_sizes(E: int, N: int) -> tuple[int, int]:
    return min(32, triton.next_power_of_2(E)), triton.next_power_of_2(N)


@triton.jit
def _ssm_fwd_kernel(
    x_ptr, dt_ptr, a_ptr, b_ptr, c_ptr, d_ptr, z_ptr, y_ptr,
    E, N, L,
    sx_b, sx_e, sx_l,
    sdt_b, sdt_e, sdt_l,
    sa_e, sa_n,
    sb_b, sb_e, sb_n, sb_l,
    sc_b, sc_e, sc_n, sc_l,
    sz_b, sz_e, sz_l,
    sy_b, sy_e, sy_l,
    HAS_Z: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_N: tl.constexpr, ACC: tl.constexpr,
):  # fmt: skip
    pid_b = tl.program_id(0)
    pid_e = tl.program_id(1)
    eo = pid_e * BLOCK_E + tl.arange(0, BLOCK_E)  # (BE,)
    no = tl.arange(0, BLOCK_N)  # (BN,)
    em = eo < E
    m2 = em[:, None] & (no[None, :] < N)  # (BE, BN)
    A = tl.load(a_ptr + eo[:, None] * sa_e + no[None, :] * sa_n, mask=m2, other=0.0).to(ACC)
    D = tl.load(d_ptr + eo, mask=em, other=0.0).to(ACC)
    b_tile = b_ptr + pid_b * sb_b + eo[:, None] * sb_e + no[None, :] * sb_n  # (BE, BN) ptrs
    c_tile = c_ptr + pid_b * sc_b + eo[:, None] * sc_e + no[None, :] * sc_n
    h = tl.zeros((BLOCK_E, BLOCK_N), dtype=ACC)
    for t in range(L):
        xt = tl.load(x_ptr + pid_b * sx_b + eo * sx_e + t * sx_l, mask=em, other=0.0).to(ACC)
        dtt = tl.load(dt_ptr + pid_b * sdt_b + eo * sdt_e + t * sdt_l, mask=em, other=0.0)
        dtt = dtt.to(ACC)[:, None]  # (BE, 1)
        bt = tl.load(b_tile + t * sb_l, mask=m2, other=0.0).to(ACC)
        ct = tl.load(c_tile + t * sc_l, mask=m2, other=0.0).to(ACC)
        h = tl.exp(dtt * A) * h + dtt * bt * xt[:, None]
        y = tl.sum(h * ct, axis=1) + D * xt  # (BE,)
        if HAS_Z:
            zt = tl.load(z_ptr + pid_b * sz_b + eo * sz_e + t * sz_l, mask=em, other=0.0)
            zt = zt.to(ACC)
            y = y * (zt * tl.sigmoid(zt))
        tl.store(y_ptr + pid_b * sy_b + eo * sy_e + t * sy_l, y, mask=em)


@triton.jit
def _ssm_bwd_kernel(
    x_ptr, dt_ptr, a_ptr, b_ptr, c_ptr, d_ptr, z_ptr, gy_ptr,
    dx_ptr, ddt_ptr, da_ptr, db_ptr, dc_ptr, dd_ptr, dz_ptr,
    ckpt_ptr, scr_ptr,
    E, N, L, CH, NCHUNK,
    sx_b, sx_e, sx_l,
    sdt_b, sdt_e, sdt_l,
    sa_e, sa_n,
    sb_b, sb_e, sb_n, sb_l,
    sc_b, sc_e, sc_n, sc_l,
    sz_b, sz_e, sz_l,
    sg_b, sg_e, sg_l,
    HAS_Z: tl.constexpr, B_SEL: tl.constexpr, C_SEL: tl.constexpr,
    BLOCK_E: tl.constexpr, BLOCK_N: tl.constexpr, ACC: tl.constexpr,
):  # fmt: skip
    # Outputs (all contiguous, written by this program only):
    #   dx, ddt, dz: (Bt, E, L); dA: (Bt, E, N) partial over batch; dD: (Bt, E) partial;
    #   dB/dC: (Bt, nE, N, L) partial over channel blocks when selective, else (Bt, E, N).
    pid_b = tl.program_id(0)
    pid_e = tl.program_id(1)
    n_eblk = tl.num_programs(1)
    eo = pid_e * BLOCK_E + tl.arange(0, BLOCK_E)
    no = tl.arange(0, BLOCK_N)
    em = eo < E
    nm = no < N
    m2 = em[:, None] & nm[None, :]
    A = tl.load(a_ptr + eo[:, None] * sa_e + no[None, :] * sa_n, mask=m2, other=0.0).to(ACC)
    D = tl.load(d_ptr + eo, mask=em, other=0.0).to(ACC)
    b_tile = b_ptr + pid_b * sb_b + eo[:, None] * sb_e + no[None, :] * sb_n
    c_tile = c_ptr + pid_b * sc_b + eo[:, None] * sc_e + no[None, :] * sc_n
    x_row = x_ptr + pid_b * sx_b + eo * sx_e  # (BE,) ptrs, + t * sx_l
    dt_row = dt_ptr + pid_b * sdt_b + eo * sdt_e
    out_row = (pid_b * E + eo) * L  # (BE,) offsets into the (Bt, E, L) outputs
    tile = tl.arange(0, BLOCK_E)[:, None] * BLOCK_N + no[None, :]  # (BE, BN) scratch offsets
    prog = pid_b * n_eblk + pid_e
    ckpt = ckpt_ptr + prog * NCHUNK * BLOCK_E * BLOCK_N + tile
    scr = scr_ptr + prog * (CH + 1) * BLOCK_E * BLOCK_N + tile

    # Pass 1: states at chunk starts. ckpt[c] = h[c * CH - 1] (zero for c = 0).
    h = tl.zeros((BLOCK_E, BLOCK_N), dtype=ACC)
    for t in range(L):
        if t % CH == 0:
            tl.store(ckpt + (t // CH) * BLOCK_E * BLOCK_N, h)
        xt = tl.load(x_row + t * sx_l, mask=em, other=0.0).to(ACC)
        dtt = tl.load(dt_row + t * sdt_l, mask=em, other=0.0).to(ACC)[:, None]
        bt = tl.load(b_tile + t * sb_l, mask=m2, other=0.0).to(ACC)
        h = tl.exp(dtt * A) * h + dtt * bt * xt[:, None]

    dh = tl.zeros((BLOCK_E, BLOCK_N), dtype=ACC)  # dL/dh[t] flowing back from t + 1
    acc_da = tl.zeros((BLOCK_E, BLOCK_N), dtype=ACC)
    acc_db = tl.zeros((BLOCK_E, BLOCK_N), dtype=ACC)
    acc_dc = tl.zeros((BLOCK_E, BLOCK_N), dtype=ACC)
    acc_dd = tl.zeros((BLOCK_E,), dtype=ACC)
    for cc in range(NCHUNK):
        c = NCHUNK - 1 - cc
        t0 = c * CH
        n_t = tl.minimum(CH, L - t0)
        # Pass 2a: recompute this chunk's states; scratch slot k + 1 holds h[t0 + k].
        tl.debug_barrier()
        h = tl.load(ckpt + c * BLOCK_E * BLOCK_N)
        tl.store(scr, h)
        for k in range(n_t):
            t = t0 + k
            xt = tl.load(x_row + t * sx_l, mask=em, other=0.0).to(ACC)
            dtt = tl.load(dt_row + t * sdt_l, mask=em, other=0.0).to(ACC)[:, None]
            bt = tl.load(b_tile + t * sb_l, mask=m2, other=0.0).to(ACC)
            h = tl.exp(dtt * A) * h + dtt * bt * xt[:, None]
            tl.store(scr + (k + 1) * BLOCK_E * BLOCK_N, h)
        tl.debug_barrier()
        # Pass 2b: walk the chunk backwards.
        for kk in range(n_t):
            k = n_t - 1 - kk
            t = t0 + k
            h_t = tl.load(scr + (k + 1) * BLOCK_E * BLOCK_N)
            h_p = tl.load(scr + k * BLOCK_E * BLOCK_N)
            xt = tl.load(x_row + t * sx_l, mask=em, other=0.0).to(ACC)
            dt1 = tl.load(dt_row + t * sdt_l, mask=em, other=0.0).to(ACC)
            dtt = dt1[:, None]
            bt = tl.load(b_tile + t * sb_l, mask=m2, other=0.0).to(ACC)
            ct = tl.load(c_tile + t * sc_l, mask=m2, other=0.0).to(ACC)
            g = tl.load(gy_ptr + pid_b * sg_b + eo * sg_e + t * sg_l, mask=em, other=0.0)
            g = g.to(ACC)  # (BE,) dL/dy[t]
            if HAS_Z:
                zt = tl.load(z_ptr + pid_b * sz_b + eo * sz_e + t * sz_l, mask=em, other=0.0)
                zt = zt.to(ACC)
                sig = tl.sigmoid(zt)
                y_pre = tl.sum(h_t * ct, axis=1) + D * xt
                dz = g * y_pre * sig * (1.0 + zt * (1.0 - sig))
                tl.store(dz_ptr + out_row + t, dz, mask=em)
                g = g * zt * sig  # dL/dy_pre
            dh = dh + ct * g[:, None]  # total dL/dh[t]
            a = tl.exp(dtt * A)
            dx = D * g + tl.sum(dh * dtt * bt, axis=1)
            ddt = tl.sum(dh * (A * a * h_p + bt * xt[:, None]), axis=1)
            tl.store(dx_ptr + out_row + t, dx, mask=em)
            tl.store(ddt_ptr + out_row + t, ddt, mask=em)
            acc_da += dh * dtt * a * h_p
            acc_dd += g * xt
            db_t = dh * (dt1 * xt)[:, None]  # (BE, BN)
            dc_t = h_t * g[:, None]
            if B_SEL:
                db_off = ((pid_b * n_eblk + pid_e) * N + no) * L + t
                tl.store(db_ptr + db_off, tl.sum(db_t, axis=0), mask=nm)
            else:
                acc_db += db_t
            if C_SEL:
                dc_off = ((pid_b * n_eblk + pid_e) * N + no) * L + t
                tl.store(dc_ptr + dc_off, tl.sum(dc_t, axis=0), mask=nm)
            else:
                acc_dc += dc_t
            dh = a * dh
    en_off = (pid_b * E + eo[:, None]) * N + no[None, :]  # (BE, BN) into (Bt, E, N)
    tl.store(da_ptr + en_off, acc_da, mask=m2)
    tl.store(dd_ptr + pid_b * E + eo, acc_dd, mask=em)
    if not B_SEL:
        tl.store(db_ptr + en_off, acc_db, mask=m2)
    if not C_SEL:
        tl.store(dc_ptr + en_off, acc_dc, mask=m2)


def _bcast_strides(t: Tensor, selective: bool) -> tuple[int, int, int, int]:
    """(batch, channel, state, time) strides of ``B``/``C``: ``(E, N)`` or ``(Bt, N, L)``."""
    if selective:
        return t.stride(0), 0, t.stride(1), t.stride(2)
    return 0, t.stride(0), t.stride(1), 0


def _dt_strides(dt: Tensor) -> tuple[int, int, int]:
    """(batch, channel, time) strides of ``dt``: ``(E,)`` or ``(Bt, E, L)``."""
    if dt.dim() == 1:
        return 0, dt.stride(0), 0
    return dt.stride(0), dt.stride(1), dt.stride(2)


def ssm_scan_fwd_triton(
    x: Tensor,
    dt: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor,
    z: Tensor | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """Fused forward scan; arguments as :func:`nasx.kernels.ssm_scan_ref`, any strides.

    Args:
        out: optional ``(Bt, E, L)`` destination (any strides), e.g. a view into a larger
            buffer; a new tensor of ``x``'s dtype otherwise.

    Returns:
        ``y (Bt, E, L)``.
    """
    bt, E, L = x.shape
    N = A.shape[1]
    y = x.new_empty(x.shape) if out is None else out
    block_e, block_n = _block_sizes(E, N)
    zz = x if z is None else z  # dummy pointer when there is no gate
    acc = tl_dtype(compute_dtype(x, dt, A, B, C, D, z))
    grid = (bt, triton.cdiv(E, block_e))
    _ssm_fwd_kernel[grid](
        x, dt, A, B, C, D, zz, y,
        E, N, L,
        *x.stride(), *_dt_strides(dt), *A.stride(),
        *_bcast_strides(B, B.dim() == 3), *_bcast_strides(C, C.dim() == 3),
        *zz.stride(), *y.stride(),
        HAS_Z=z is not None, BLOCK_E=block_e, BLOCK_N=block_n, ACC=acc, **_FWD_OPTIONS,
    )  # fmt: skip
    return y


def ssm_scan_bwd_triton(
    gy: Tensor,
    x: Tensor,
    dt: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor,
    z: Tensor | None = None,
) -> list[Tensor]:
    """Fused backward scan (recomputes the states; nothing is saved by the forward).

    Returns:
        ``[dx, ddt, dA, dB, dC, dD, dz]`` shaped like the inputs (``dz`` is empty without a gate).
    """
    bt, E, L = x.shape
    N = A.shape[1]
    cdt = compute_dtype(x, dt, A, B, C, D, z)
    block_e, block_n = _block_sizes(E, N)
    n_eblk = triton.cdiv(E, block_e)
    nchunk = max(1, triton.cdiv(L, _CHUNK))
    dev = x.device
    dx = torch.empty(bt, E, L, device=dev, dtype=cdt)
    ddt = torch.empty(bt, E, L, device=dev, dtype=cdt)
    dz = torch.empty(bt, E, L, device=dev, dtype=cdt) if z is not None else dx
    da = torch.empty(bt, E, N, device=dev, dtype=cdt)
    dd = torch.empty(bt, E, device=dev, dtype=cdt)
    b_sel, c_sel = B.dim() == 3, C.dim() == 3
    db = torch.empty((bt, n_eblk, N, L) if b_sel else (bt, E, N), device=dev, dtype=cdt)
    dc = torch.empty((bt, n_eblk, N, L) if c_sel else (bt, E, N), device=dev, dtype=cdt)
    tile = block_e * block_n
    ckpt = torch.empty(bt * n_eblk * nchunk * tile, device=dev, dtype=cdt)
    scratch = torch.empty(bt * n_eblk * (_CHUNK + 1) * tile, device=dev, dtype=cdt)
    zz = x if z is None else z
    _ssm_bwd_kernel[(bt, n_eblk)](
        x, dt, A, B, C, D, zz, gy,
        dx, ddt, da, db, dc, dd, dz,
        ckpt, scratch,
        E, N, L, _CHUNK, nchunk,
        *x.stride(), *_dt_strides(dt), *A.stride(),
        *_bcast_strides(B, b_sel), *_bcast_strides(C, c_sel),
        *zz.stride(), *gy.stride(),
        HAS_Z=z is not None, B_SEL=b_sel, C_SEL=c_sel,
        BLOCK_E=block_e, BLOCK_N=block_n, ACC=tl_dtype(cdt), **_BWD_OPTIONS,
    )  # fmt: skip
    ddt = ddt.sum(dim=(0, 2)) if dt.dim() == 1 else ddt
    db = db.sum(dim=1) if b_sel else db.sum(dim=0)  # (Bt, N, L) or (E, N)
    dc = dc.sum(dim=1) if c_sel else dc.sum(dim=0)
    grads = [dx, ddt, da.sum(0), db, dc, dd.sum(0)]
    grads = [g.to(p.dtype) for g, p in zip(grads, (x, dt, A, B, C, D), strict=True)]
    grads.append(dz.to(z.dtype) if z is not None else x.new_empty(0))
    return grads


def compile_specs() -> list[KernelSpec]:
    """fp32 instantiations of the scan kernels for the compile gate (N = 16, gated)."""
    ptr, i32 = "*fp32", "i32"
    fwd_sig = {n: ptr for n in ("x_ptr", "dt_ptr", "a_ptr", "b_ptr", "c_ptr", "d_ptr")}
    fwd_sig |= {"z_ptr": ptr, "y_ptr": ptr, "E": i32, "N": i32, "L": i32}
    strides = ["sx_b", "sx_e", "sx_l", "sdt_b", "sdt_e", "sdt_l", "sa_e", "sa_n"]
    strides += ["sb_b", "sb_e", "sb_n", "sb_l", "sc_b", "sc_e", "sc_n", "sc_l", "sz_b", "sz_e"]
    strides += ["sz_l"]
    fwd_sig |= {s: i32 for s in [*strides, "sy_b", "sy_e", "sy_l"]}
    consts = {"HAS_Z": True, "BLOCK_E": 32, "BLOCK_N": 16, "ACC": tl.float32}
    fwd_sig |= {k: "constexpr" for k in consts}
    bwd_sig = {n: ptr for n in ("x_ptr", "dt_ptr", "a_ptr", "b_ptr", "c_ptr", "d_ptr", "z_ptr")}
    bwd_sig |= {n: ptr for n in ("gy_ptr", "dx_ptr", "ddt_ptr", "da_ptr", "db_ptr", "dc_ptr")}
    bwd_sig |= {n: ptr for n in ("dd_ptr", "dz_ptr", "ckpt_ptr", "scr_ptr")}
    bwd_sig |= {n: i32 for n in ("E", "N", "L", "CH", "NCHUNK", *strides, "sg_b", "sg_e", "sg_l")}
    specs = [KernelSpec("ssm_scan_fwd", _ssm_fwd_kernel, fwd_sig, consts, _FWD_OPTIONS)]
    for sel in (False, True):
        bconsts = {"HAS_Z": True, "B_SEL": sel, "C_SEL": sel, **consts}
        sig = bwd_sig | {k: "constexpr" for k in bconsts}
        name = "ssm_scan_bwd_" + ("selective" if sel else "lti")
        specs.append(KernelSpec(name, _ssm_bwd_kernel, sig, bconsts, _BWD_OPTIONS))
    return specs
