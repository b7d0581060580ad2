"""Causal depthwise conv on CPU: the twin's values, the custom op and its autograd."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import dwconv_inputs

from nasx.kernels import causal_dwconv1d, causal_dwconv1d_ref
from nasx.kernels.causal_dwconv import _dwconv_op


def test_twin_matches_hand_computed_causal_sum():
    x = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    w = torch.tensor([[10.0, 100.0, 1000.0]])  # w[K-1] multiplies x[t], w[0] x[t-2]
    y = causal_dwconv1d_ref(x, w, torch.tensor([0.5]))
    want = torch.tensor([1000.0, 2100.0, 3210.0, 4320.0]) + 0.5
    torch.testing.assert_close(y[0, 0], want)


def test_output_does_not_see_the_future():
    x, w, b, _ = dwconv_inputs(1, 3, 12, 4, gate=False)
    y = causal_dwconv1d(x, w, b, "silu")
    x2 = x.clone()
    x2[..., 7:] = 99.0
    torch.testing.assert_close(causal_dwconv1d(x2, w, b, "silu")[..., :7], y[..., :7])


@pytest.mark.parametrize("activation", [None, "silu", "relu"])
@pytest.mark.parametrize("bias_gate", [(True, True), (False, False), (True, False)])
def test_op_equals_twin_and_gradcheck(activation, bias_gate):
    args = dwconv_inputs(2, 3, 9, 4, *bias_gate)
    assert torch.equal(causal_dwconv1d(*args[:3], activation, args[3]),
                       causal_dwconv1d_ref(*args[:3], activation, args[3]))  # fmt: skip
    leaves = [a.requires_grad_() if a is not None else None for a in args]
    assert torch.autograd.gradcheck(
        lambda x, w, b, g: causal_dwconv1d(x, w, b, activation, g), leaves
    )


def test_twin_gradcheck():
    leaves = [a.requires_grad_() for a in dwconv_inputs(2, 3, 6, 3)]
    assert torch.autograd.gradcheck(
        lambda x, w, b, g: causal_dwconv1d_ref(x, w, b, "silu", g), leaves
    )


@pytest.mark.parametrize("activation", [None, "silu"])
def test_opcheck(activation):
    x, w, b, g = dwconv_inputs(2, 3, 7, 3)
    torch.library.opcheck(_dwconv_op, [x, w, b, activation, g])
    torch.library.opcheck(_dwconv_op, [x, w, None, activation, None])


def test_unknown_activation_is_rejected():
    x, w, _, _ = dwconv_inputs(1, 2, 5, 3)
    with pytest.raises(ValueError, match="activation must be one of"):
        causal_dwconv1d(x, w, activation="gelu")
