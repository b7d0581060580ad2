"""Fake quantization on CPU: the custom ops equal the twins bit for bit, STE gradients."""

from __future__ import annotations

import pytest
import torch

from nasx.kernels import (
    FLOAT_BITS,
    fake_quant_act,
    fake_quant_act_ref,
    fake_quant_weight,
    fake_quant_weight_ref,
)
from nasx.kernels.fake_quant import _fake_quant_act_op, _fake_quant_weight_op


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_weight_op_equals_twin_on_sliced_weights(bits):
    big = torch.randn(64, 40, 5)
    for w in (big[:48, :32, 0], big[:48, :32, 1:4], big[:, 3]):
        assert torch.equal(fake_quant_weight(w, bits), fake_quant_weight_ref(w, bits))


def test_weight_rounding_ties_to_even():
    # scale = 31.75 / 127 = 0.25 exactly, so w / scale lands exactly on .5 ties.
    codes = torch.arange(-6, 6) + 0.5
    w = torch.cat([codes * 0.25, torch.tensor([31.75])]).unsqueeze(0)
    got = fake_quant_weight(w, 8)[0, :-1] / 0.25
    want = torch.tensor([-6.0, -4, -4, -2, -2, 0, 0, 2, 2, 4, 4, 6])
    assert torch.equal(got, want)


def test_weight_straight_through_gradient_and_float_passthrough():
    w = torch.randn(6, 5, requires_grad=True)
    g = torch.randn(6, 5)
    fake_quant_weight(w, 4).backward(g)
    assert torch.equal(w.grad, g)
    assert fake_quant_weight(w, FLOAT_BITS) is w


def test_act_op_equals_twin_and_passes_gradient():
    x = torch.randn(3, 4, 5, requires_grad=True)
    amax = torch.tensor(1.5)
    assert torch.equal(fake_quant_act(x, 8, amax), fake_quant_act_ref(x, 8, amax))
    g = torch.randn(3, 4, 5)
    fake_quant_act(x, 4, amax).backward(g)
    assert torch.equal(x.grad, g)
    assert fake_quant_act(x, FLOAT_BITS, amax) is x


def test_opcheck():
    torch.library.opcheck(_fake_quant_weight_op, [torch.randn(6, 5, requires_grad=True), 4])
    torch.library.opcheck(_fake_quant_act_op, [torch.randn(3, 5, requires_grad=True), 8,
                                               torch.tensor(2.0)])  # fmt: skip
