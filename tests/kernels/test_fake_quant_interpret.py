"""Fake-quant Triton kernels under the Triton interpreter: bit-exact with the twins."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import assert_guard_intact, guarded_empty, interpret_only

from nasx.kernels import (
    fake_quant_act,
    fake_quant_act_ref,
    fake_quant_weight,
    fake_quant_weight_ref,
    triton_on_cpu,
)
from nasx.kernels.fake_quant import _fake_quant_act_op, _fake_quant_weight_op

pytestmark = interpret_only


def sliced_weights(dtype: torch.dtype) -> list[torch.Tensor]:
    """Views of larger tensors, as the supernet's first-k slicing produces them."""
    g = torch.Generator().manual_seed(0)
    big2 = torch.randn(64, 40, generator=g, dtype=dtype)
    big3 = torch.randn(20, 6, 9, generator=g, dtype=dtype)
    big1 = torch.randn(50, generator=g, dtype=dtype)
    return [big2[:48, :32], big2[3:40:2, 1:], big2.t()[:30, :20], big3[:16, :4, 2:7], big1[:33]]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_weight_bit_exact_on_sliced_weights_into_guarded_views(dtype, bits):
    from nasx.kernels.fake_quant_triton import fake_quant_weight_triton

    for w in sliced_weights(dtype):
        buf, out = guarded_empty(tuple(w.shape), dtype)
        fake_quant_weight_triton(w, bits, out=out)
        want = fake_quant_weight_ref(w, bits)
        assert torch.equal(out, want), f"{tuple(w.shape)} {w.stride()}"
        assert_guard_intact(buf)


@pytest.mark.parametrize("bits", [4, 8])
def test_weight_ties_round_half_to_even(bits):
    from nasx.kernels.fake_quant_triton import fake_quant_weight_triton

    qmax = 2 ** (bits - 1) - 1
    scale = 0.25  # amax = qmax * scale: w / scale is exact, so every .5 below is a true tie
    ties = torch.arange(-qmax, qmax) + 0.5  # -6.5 ... 6.5 for 4 bits
    row = torch.cat([ties, torch.tensor([qmax, 0.0, -0.0])]) * scale
    w = torch.stack([row, -row, row * 2.0**-30, torch.zeros_like(row)])  # tiny and zero rows
    got = fake_quant_weight_triton(w, bits)
    assert torch.equal(got, fake_quant_weight_ref(w, bits))
    codes = got[0, : ties.numel()] / scale
    assert torch.equal(codes, torch.round(ties)) and (codes.remainder(2) == 0).all()


def test_weight_bit_exact_on_many_random_rows():
    from nasx.kernels.fake_quant_triton import fake_quant_weight_triton

    g = torch.Generator().manual_seed(1)
    w = torch.randn(300, 70, generator=g) * torch.logspace(-6, 3, 300).unsqueeze(1)
    for bits in (3, 8):
        assert torch.equal(fake_quant_weight_triton(w, bits), fake_quant_weight_ref(w, bits))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_act_bit_exact_into_guarded_buffer(dtype):
    from nasx.kernels.fake_quant_triton import fake_quant_act_triton

    x = torch.randn(3, 7, 50, dtype=dtype) * 2
    buf, out = guarded_empty((x.numel(),), dtype)
    for amax in (0.7, 3.0):
        a = torch.tensor(amax, dtype=dtype)
        fake_quant_act_triton(x, 4, a, out=out.view(x.shape))
        assert torch.equal(out.view(x.shape), fake_quant_act_ref(x, 4, a))
    assert_guard_intact(buf)


def test_ops_on_the_triton_path_equal_twins_with_straight_through_gradients():
    w = torch.randn(64, 40)[:48, :32].requires_grad_()  # a non-leaf slice is fine too
    x = torch.randn(4, 9, requires_grad=True)
    amax = torch.tensor(1.25)
    with triton_on_cpu():
        qw, qx = fake_quant_weight(w, 4), fake_quant_act(x, 8, amax)
        assert torch.equal(qw, fake_quant_weight_ref(w, 4))
        assert torch.equal(qx, fake_quant_act_ref(x, 8, amax))
        gw, gx = torch.randn(48, 32), torch.randn(4, 9)
        torch.autograd.backward((qw, qx), (gw, gx))
        assert torch.equal(w.grad, gw) and torch.equal(x.grad, gx)
        torch.library.opcheck(_fake_quant_weight_op, [torch.randn(6, 5, requires_grad=True), 4])
        torch.library.opcheck(_fake_quant_act_op, [torch.randn(3, 5), 8, torch.tensor(2.0)])
