"""Causal depthwise conv Triton kernels under the Triton interpreter, against the twin."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import (
    assert_guard_intact,
    dwconv_inputs,
    guarded_empty,
    interpret_only,
    strided,
)

from nasx.kernels import causal_dwconv1d, causal_dwconv1d_ref, triton_on_cpu
from nasx.kernels.causal_dwconv import _dwconv_bwd_op, _dwconv_op

pytestmark = interpret_only


@pytest.mark.parametrize("activation", [None, "silu", "relu"])
@pytest.mark.parametrize(
    ("bias", "gate", "k"), [(True, True, 4), (False, False, 1), (True, False, 7)]
)
def test_forward_matches_twin_fp32_into_guarded_view(activation, bias, gate, k):
    from nasx.kernels.causal_dwconv_triton import causal_dwconv1d_fwd_triton

    x, w, b, g = dwconv_inputs(2, 18, 70, k, bias, gate, dtype=torch.float32)  # 2 C and 2 L tiles
    x, w = strided(x), strided(w)
    buf, out = guarded_empty(x.shape, torch.float32)
    causal_dwconv1d_fwd_triton(x, w, b, activation, g, out=out)
    torch.testing.assert_close(out, causal_dwconv1d_ref(x, w, b, activation, g), rtol=0, atol=1e-5)
    assert_guard_intact(buf)


@pytest.mark.parametrize("activation", [None, "silu", "relu"])
def test_backward_matches_twin_fp32(activation):
    from nasx.kernels.causal_dwconv_triton import causal_dwconv1d_bwd_triton

    x, w, b, g = dwconv_inputs(2, 18, 70, 4, dtype=torch.float32)
    gy = torch.randn(2, 18, 70)
    leaves = [t.clone().requires_grad_() for t in (x, w, b, g)]
    causal_dwconv1d_ref(leaves[0], leaves[1], leaves[2], activation, leaves[3]).backward(gy)
    grads = causal_dwconv1d_bwd_triton(gy, x, w, b, activation, g)
    for got, leaf in zip(grads, leaves, strict=True):
        torch.testing.assert_close(got, leaf.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("activation", [None, "silu"])
def test_gradcheck_fp64_through_the_op(activation):
    leaves = [t.requires_grad_() for t in dwconv_inputs(2, 3, 9, 3)]
    with triton_on_cpu():
        assert torch.autograd.gradcheck(
            lambda x, w, b, g: causal_dwconv1d(x, w, b, activation, g), leaves, fast_mode=True
        )


def test_opcheck_on_the_triton_path():
    x, w, b, g = dwconv_inputs(2, 3, 7, 3)
    gy = torch.randn(2, 3, 7, dtype=torch.float64)
    with triton_on_cpu():
        torch.library.opcheck(_dwconv_op, [x, w, b, "silu", g])
        torch.library.opcheck(_dwconv_bwd_op, [gy, x, w, b, "silu", g])
