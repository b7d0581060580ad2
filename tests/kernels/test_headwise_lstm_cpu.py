"""Head-wise LSTM on CPU: the reference twin against nn.LSTM, the custom op, the torch fallback."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from kernel_helpers import lstm_inputs

from nasx.kernels import block_diagonal_weight_hh, headwise_lstm, headwise_lstm_ref
from nasx.kernels.headwise_lstm import _headwise_lstm_op, _lstm_all_ref, headwise_lstm_torch


def lstm_as_headwise(lstm: torch.nn.LSTM, x: torch.Tensor, nh: int):
    """``gates_x`` and ``R`` of a single-layer nn.LSTM whose weight_hh is block-diagonal."""
    hidden = lstm.hidden_size
    dh = hidden // nh
    gx = F.linear(x, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)  # (Bt, L, 4H)
    gx = gx.view(x.shape[0], x.shape[1], 4, nh, dh)
    w = lstm.weight_hh_l0.view(4, nh, dh, nh, dh)
    R = torch.stack([w[:, h, :, h, :] for h in range(nh)])  # (NH, 4, DH, DH)
    return gx, R


@pytest.mark.parametrize("hidden", [16, 24])
def test_reference_with_one_head_equals_nn_lstm(hidden):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, hidden, batch_first=True).double()
    x = torch.randn(3, 7, 5, dtype=torch.float64)
    h0, c0 = torch.randn(2, 1, 3, hidden, dtype=torch.float64).unbind(0)
    y, (h_t, c_t) = lstm(x, (h0, c0))
    gx, R = lstm_as_headwise(lstm, x, nh=1)
    hs = (h0[0].view(3, 1, hidden), c0[0].view(3, 1, hidden))
    for fn in (headwise_lstm_ref, headwise_lstm):
        y2, (h2, c2) = fn(gx, R, *hs)
        torch.testing.assert_close(y2.reshape(3, 7, hidden), y, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(h2.reshape(3, hidden), h_t[0], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(c2.reshape(3, hidden), c_t[0], rtol=1e-12, atol=1e-12)


def test_gradients_with_one_head_equal_nn_lstm():
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(4, 16, batch_first=True).double()
    x = torch.randn(2, 6, 4, dtype=torch.float64)
    lstm(x)[0].square().sum().backward()
    want = lstm.weight_hh_l0.grad.clone()
    lstm.zero_grad()
    gx, R = lstm_as_headwise(lstm, x, nh=1)
    R = R.detach().requires_grad_()
    headwise_lstm(gx, R)[0].square().sum().backward()
    torch.testing.assert_close(R.grad[0], want.view(4, 16, 16), rtol=1e-10, atol=1e-10)


def test_block_diagonal_nn_lstm_equals_heads():
    # Several heads = one nn.LSTM whose weight_hh is the block-diagonal expansion of R.
    gx, R, h0, c0 = lstm_inputs(2, 5, 3, 4)
    w_hh = block_diagonal_weight_hh(R)
    assert w_hh.shape == (48, 12)
    assert torch.equal(w_hh.view(4, 3, 4, 3, 4)[:, 0, :, 1, :], torch.zeros(4, 4, 4, dtype=R.dtype))
    h_all, c_all = headwise_lstm_torch(gx, R, h0, c0)
    ref_h, ref_c = _lstm_all_ref(gx, R, h0, c0)
    torch.testing.assert_close(h_all, ref_h, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c_all, ref_c, rtol=1e-12, atol=1e-12)


def test_heads_are_independent():
    gx, R, h0, c0 = lstm_inputs(2, 4, 3, 4)
    h_all, _ = headwise_lstm_ref(gx, R, h0, c0)
    h_one, _ = headwise_lstm_ref(gx[:, :, :, 1:2], R[1:2], h0[:, 1:2], c0[:, 1:2])
    torch.testing.assert_close(h_all[:, :, 1:2], h_one, rtol=0, atol=0)


def test_op_on_cpu_equals_reference_and_default_state_is_zero():
    gx, R, h0, c0 = lstm_inputs(3, 5, 2, 16, dtype=torch.float32)
    y, (h, c) = headwise_lstm(gx, R, h0, c0)
    y2, (h2, c2) = headwise_lstm_ref(gx, R, h0, c0)
    assert torch.equal(y, y2) and torch.equal(h, h2) and torch.equal(c, c2)
    zeros = torch.zeros_like(h0)
    assert torch.equal(headwise_lstm(gx, R)[0], headwise_lstm_ref(gx, R, zeros, zeros)[0])


def test_gradcheck_op_and_reference():
    leaves = [t.requires_grad_() for t in lstm_inputs(2, 3, 2, 3)]

    def outputs(fn):
        return lambda *a: (lambda r: (r[0], r[1][1]))(fn(*a))  # h_all and c_T

    assert torch.autograd.gradcheck(outputs(headwise_lstm_ref), leaves)
    assert torch.autograd.gradcheck(outputs(headwise_lstm), leaves)


def test_opcheck():
    torch.library.opcheck(_headwise_lstm_op, lstm_inputs(2, 3, 2, 4))
