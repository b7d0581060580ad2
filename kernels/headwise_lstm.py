"""Head-wise LSTM: block-diagonal recurrence, one small LSTM per head of ``DH`` units.

Layout (gate order i, f, g, o as :class:`torch.nn.LSTM`)::

    gates_x: (Bt, L, 4, NH, DH)   W x + b for every gate, computed outside by one matmul; the
                                  (Bt, L, 4 * H) output of ``F.linear(x, weight_ih, bias)``
                                  viewed as (Bt, L, 4, NH, DH), H = NH * DH
    R:       (NH, 4, DH, DH)      head ``h``'s recurrent weights; R[h, k] maps h_prev -> gate k
    h0, c0:  (Bt, NH, DH)         initial state (zeros when omitted)

    pre[k] = gates_x[:, t, k] + R[:, k] @ h[t-1]   (per head)
    c[t] = sigmoid(f) * c[t-1] + sigmoid(i) * tanh(g);   h[t] = sigmoid(o) * tanh(c[t])

With ``NH = 1``, ``R[0, k]`` is ``weight_hh[k*H:(k+1)*H]`` of :class:`torch.nn.LSTM`. An elastic
width is "active heads x fixed head size", so one compiled kernel (per ``DH`` in 16/32/64) serves
every subnet. CPU runs the reference loop; CUDA runs the Triton kernel for ``DH`` in
:data:`TRITON_HEAD_SIZES` and torch's fused LSTM (block-diagonal ``weight_hh``) otherwise.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nasx.kernels._backend import recompute_grads, use_triton

TRITON_HEAD_SIZES = (16, 32, 64)


def _lstm_all_ref(gx: Tensor, R: Tensor, h0: Tensor, c0: Tensor) -> tuple[Tensor, Tensor]:
    """Reference loop returning every step's ``h`` and ``c``: two ``(Bt, L, NH, DH)`` tensors."""
    h, c = h0, c0  # (Bt, NH, DH)
    hs, cs = [], []
    for t in range(gx.shape[1]):
        pre = gx[:, t] + torch.einsum("bhj,hkij->bkhi", h, R)  # (Bt, 4, NH, DH)
        i, f, g, o = pre.unbind(1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
        cs.append(c)
    return torch.stack(hs, 1), torch.stack(cs, 1)


def _initial_state(gx: Tensor, s: Tensor | None) -> Tensor:
    bt, _, _, nh, dh = gx.shape
    return gx.new_zeros(bt, nh, dh) if s is None else s


def headwise_lstm_ref(
    gates_x: Tensor, R: Tensor, h0: Tensor | None = None, c0: Tensor | None = None
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """Pure-torch head-wise LSTM (a per-step loop): the twin the kernels are tested against.

    Args:
        gates_x: ``(Bt, L, 4, NH, DH)`` input projections (see the module docstring).
        R: ``(NH, 4, DH, DH)`` recurrent weights.
        h0, c0: ``(Bt, NH, DH)`` or ``None`` (zeros).

    Returns:
        ``(h_all (Bt, L, NH, DH), (h_T (Bt, NH, DH), c_T (Bt, NH, DH)))``.
    """
    h0, c0 = _initial_state(gates_x, h0), _initial_state(gates_x, c0)
    h_all, c_all = _lstm_all_ref(gates_x, R, h0, c0)
    return h_all, (h_all[:, -1], c_all[:, -1])


def block_diagonal_weight_hh(R: Tensor) -> Tensor:
    """Dense ``(4 H, H)`` ``weight_hh`` of :class:`torch.nn.LSTM` equal to the head-wise ``R``."""
    nh, _, dh, _ = R.shape
    w = R.new_zeros(4, nh, dh, nh, dh)
    for h in range(nh):
        w[:, h, :, h, :] = R[h]
    return w.reshape(4 * nh * dh, nh * dh)


def headwise_lstm_torch(gx: Tensor, R: Tensor, h0: Tensor, c0: Tensor) -> tuple[Tensor, Tensor]:
    """Fallback through torch's fused LSTM (cuDNN on CUDA) with a block-diagonal ``weight_hh``.

    The input weight is the identity, so the (precomputed) ``gates_x`` pass through unchanged.

    Returns:
        ``(h_all, c_all)``, each ``(Bt, L, NH, DH)``; ``c_all`` comes from a second, cheap
        elementwise pass because torch's LSTM returns only the last cell state.
    """
    bt, length, _, nh, dh = gx.shape
    hidden = nh * dh
    eye = torch.eye(4 * hidden, dtype=gx.dtype, device=gx.device)
    w_hh = block_diagonal_weight_hh(R)
    flat = gx.reshape(bt, length, 4 * hidden)
    hx = (h0.reshape(1, bt, hidden), c0.reshape(1, bt, hidden))
    h_all = torch.lstm(flat, hx, [eye, w_hh], False, 1, 0.0, True, False, True)[0]
    h_all = h_all.reshape(bt, length, nh, dh)
    # c[t] from h[t-1]: one batched matmul for every step, then the elementwise cell update.
    h_prev = torch.cat([h0.unsqueeze(1), h_all[:, :-1]], 1)  # (Bt, L, NH, DH)
    pre = gx + torch.einsum("blhj,hkij->blkhi", h_prev, R)
    i, f, g = torch.sigmoid(pre[:, :, 0]), torch.sigmoid(pre[:, :, 1]), torch.tanh(pre[:, :, 2])
    c = c0
    cs = []
    for t in range(length):
        c = f[:, t] * c + i[:, t] * g[:, t]
        cs.append(c)
    return h_all, torch.stack(cs, 1)


def _forward_impl(gx: Tensor, R: Tensor, h0: Tensor, c0: Tensor) -> tuple[Tensor, Tensor]:
    if use_triton(gx):
        if R.shape[-1] in TRITON_HEAD_SIZES:
            from nasx.kernels.headwise_lstm_triton import headwise_lstm_fwd_triton

            return headwise_lstm_fwd_triton(gx, R, h0, c0)
        if gx.is_cuda:
            return headwise_lstm_torch(gx, R, h0, c0)
    return _lstm_all_ref(gx, R, h0, c0)


@torch.library.custom_op("nasx::headwise_lstm", mutates_args=())
def _headwise_lstm_op(gx: Tensor, R: Tensor, h0: Tensor, c0: Tensor) -> tuple[Tensor, Tensor]:
    return _forward_impl(gx, R, h0, c0)


@_headwise_lstm_op.register_fake
def _(gx, R, h0, c0):
    bt, length, _, nh, dh = gx.shape
    return gx.new_empty(bt, length, nh, dh), gx.new_empty(bt, length, nh, dh)


@torch.library.custom_op("nasx::headwise_lstm_bwd", mutates_args=())
def _headwise_lstm_bwd_op(
    gh: Tensor, gc: Tensor, gx: Tensor, R: Tensor, h0: Tensor, c0: Tensor, h_all: Tensor,
    c_all: Tensor,
) -> list[Tensor]:  # fmt: skip
    if use_triton(gx) and R.shape[-1] in TRITON_HEAD_SIZES:
        from nasx.kernels.headwise_lstm_triton import headwise_lstm_bwd_triton

        return headwise_lstm_bwd_triton(gh, gc, gx, R, h0, c0, h_all, c_all)
    # Only reached when called directly (the backward formula recomputes under autograd off
    # the Triton path): the vector-Jacobian product of the pure-torch forward.
    fn = headwise_lstm_torch if gx.is_cuda else _lstm_all_ref
    _, vjp = torch.func.vjp(fn, gx, R, h0, c0)
    return list(vjp((gh, gc)))


@_headwise_lstm_bwd_op.register_fake
def _(gh, gc, gx, R, h0, c0, h_all, c_all):
    return [t.new_empty(t.shape) for t in (gx, R, h0, c0)]


def _lstm_setup_context(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs, *output)


def _lstm_backward(ctx, gh: Tensor, gc: Tensor):
    gx, R, h0, c0, h_all, c_all = ctx.saved_tensors
    if use_triton(gx) and R.shape[-1] in TRITON_HEAD_SIZES:
        grads = _headwise_lstm_bwd_op(gh.contiguous(), gc.contiguous(), gx, R, h0, c0, h_all,
                                      c_all)  # fmt: skip
        return tuple(grads)
    fn = headwise_lstm_torch if gx.is_cuda else _lstm_all_ref
    return tuple(recompute_grads(fn, [gx, R, h0, c0], (gh, gc)))


_headwise_lstm_op.register_autograd(_lstm_backward, setup_context=_lstm_setup_context)


def headwise_lstm(
    gates_x: Tensor, R: Tensor, h0: Tensor | None = None, c0: Tensor | None = None
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """Head-wise LSTM through the ``nasx::headwise_lstm`` custom op (forward and backward).

    Same arguments and result as :func:`headwise_lstm_ref`.
    """
    h_all, c_all = _headwise_lstm_op(
        gates_x, R, _initial_state(gates_x, h0), _initial_state(gates_x, c0)
    )
    return h_all, (h_all[:, -1], c_all[:, -1])
