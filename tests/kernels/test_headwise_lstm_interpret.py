"""Head-wise LSTM Triton kernels under the Triton interpreter, against the reference twin."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import (
    assert_guard_intact,
    guarded_empty,
    interpret_only,
    lstm_inputs,
    strided,
)

from nasx.kernels import headwise_lstm, triton_on_cpu
from nasx.kernels.headwise_lstm import _headwise_lstm_bwd_op, _headwise_lstm_op, _lstm_all_ref

pytestmark = interpret_only


@pytest.mark.parametrize(("bt", "nh", "dh"), [(3, 2, 16), (17, 1, 32), (2, 1, 64)])
def test_forward_matches_twin_fp32_into_guarded_views(bt, nh, dh):
    from nasx.kernels.headwise_lstm_triton import headwise_lstm_fwd_triton

    gx, R, h0, c0 = lstm_inputs(bt, 4, nh, dh, dtype=torch.float32)
    gx = strided(gx)  # non-contiguous gates, as a slice of a wider projection would be
    (hbuf, h_out), (cbuf, c_out) = (guarded_empty((bt, 4, nh, dh), torch.float32) for _ in "hc")
    headwise_lstm_fwd_triton(gx, R, h0, c0, out=(h_out, c_out))
    want_h, want_c = _lstm_all_ref(gx, R, h0, c0)
    torch.testing.assert_close(h_out, want_h, rtol=0, atol=1e-5)
    torch.testing.assert_close(c_out, want_c, rtol=0, atol=1e-5)
    assert_guard_intact(hbuf)
    assert_guard_intact(cbuf)


@pytest.mark.parametrize(("bt", "nh", "dh"), [(17, 2, 16), (2, 1, 32)])
def test_backward_matches_twin_fp32(bt, nh, dh):
    from nasx.kernels.headwise_lstm_triton import headwise_lstm_bwd_triton

    args = lstm_inputs(bt, 5, nh, dh, dtype=torch.float32)
    leaves = [a.clone().requires_grad_() for a in args]
    h_all, c_all = _lstm_all_ref(*leaves)
    gh, gc = torch.randn_like(h_all), torch.randn_like(c_all)
    torch.autograd.backward((h_all, c_all), (gh, gc))
    grads = headwise_lstm_bwd_triton(gh, gc, *args, h_all.detach(), c_all.detach())
    for got, leaf in zip(grads, leaves, strict=True):
        torch.testing.assert_close(got, leaf.grad, rtol=1e-4, atol=1e-5)


def test_gradcheck_fp64_through_the_op():
    leaves = [t.requires_grad_() for t in lstm_inputs(3, 3, 2, 16)]
    with triton_on_cpu():
        assert torch.autograd.gradcheck(
            lambda *a: (lambda r: (r[0], r[1][1]))(headwise_lstm(*a)), leaves, fast_mode=True
        )


def test_opcheck_on_the_triton_path():
    args = lstm_inputs(2, 3, 1, 16)
    gh, gc = torch.randn(2, 2, 3, 1, 16, dtype=torch.float64).unbind(0)
    with triton_on_cpu():
        torch.library.opcheck(_headwise_lstm_op, args)
        h_all, c_all = _headwise_lstm_op(*args)
        torch.library.opcheck(_headwise_lstm_bwd_op, [gh, gc, *args, h_all, c_all])
