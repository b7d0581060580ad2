"""SSM scan on CPU: the custom op, the FFT / direct-convolution paths and the reference twin."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import ssm_inputs

from nasx.kernels import lti_kernel, ssm_lti_conv, ssm_scan, ssm_scan_ref, ssm_step
from nasx.kernels.ssm_scan import _ssm_scan_bwd_op, _ssm_scan_op


@pytest.mark.parametrize("length", [1, 7, 128, 300])  # direct conv (<= 128) and FFT (> 128)
@pytest.mark.parametrize("gate", [True, False])
def test_lti_conv_paths_equal_reference_scan(length, gate):
    args = ssm_inputs(2, 5, 4, length, selective=False, gate=gate)
    torch.testing.assert_close(ssm_lti_conv(*args), ssm_scan_ref(*args), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("selective", [False, True])
@pytest.mark.parametrize("gate", [True, False])
def test_op_on_cpu_equals_previous_paths(selective, gate):
    # The public function keeps the pre-op CPU results exactly: conv path (LTI) or the twin.
    args = ssm_inputs(2, 6, 3, 150, selective, gate, dtype=torch.float32)
    expected = ssm_lti_conv(*args) if not selective else ssm_scan_ref(*args)
    assert torch.equal(ssm_scan(*args), expected)
    torch.testing.assert_close(ssm_scan(*args), ssm_scan_ref(*args), rtol=0, atol=1e-5)


@pytest.mark.parametrize("selective", [False, True])
@pytest.mark.parametrize("gate", [True, False])
def test_gradcheck_op_and_reference(selective, gate):
    args = ssm_inputs(2, 3, 2, 6, selective, gate)
    leaves = [a.requires_grad_() if a is not None else None for a in args]
    assert torch.autograd.gradcheck(ssm_scan_ref, leaves)
    assert torch.autograd.gradcheck(ssm_scan, leaves)


@pytest.mark.parametrize("selective", [False, True])
@pytest.mark.parametrize("gate", [True, False])
def test_opcheck(selective, gate):
    args = ssm_inputs(2, 3, 2, 5, selective, gate)
    torch.library.opcheck(_ssm_scan_op, args)


def test_direct_backward_op_equals_autograd():
    # The backward op's own pure-torch fallback (the backward formula does not call it on CPU).
    args = ssm_inputs(2, 3, 2, 140, selective=False)
    leaves = [a.clone().requires_grad_() for a in args]
    gy = torch.randn(2, 3, 140, dtype=torch.float64)
    ssm_scan_ref(*leaves).backward(gy)
    for got, leaf in zip(_ssm_scan_bwd_op(gy, *args), leaves, strict=True):
        torch.testing.assert_close(got, leaf.grad, rtol=1e-8, atol=1e-8)


def test_backward_matches_reference_gradients():
    args = ssm_inputs(2, 4, 3, 200, selective=False)  # FFT path
    a1 = [a.clone().requires_grad_() for a in args]
    a2 = [a.clone().requires_grad_() for a in args]
    gy = torch.randn(2, 4, 200, dtype=torch.float64)
    ssm_scan(*a1).backward(gy)
    ssm_scan_ref(*a2).backward(gy)
    for p1, p2 in zip(a1, a2, strict=True):
        torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-8, atol=1e-8)


def test_streaming_steps_equal_scan():
    x, dt, A, B, C, D, _ = ssm_inputs(2, 4, 3, 9, selective=False)
    h = torch.zeros(2, 4, 3, dtype=torch.float64)
    ys = []
    for t in range(9):
        y, h = ssm_step(x[:, :, t], h, dt, A, B, C, D)
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys, -1), ssm_scan_ref(x, dt, A, B, C, D))


def test_hand_computed_single_channel():
    # h1 = dt*B*x1; h2 = e^{dt A} h1 + dt*B*x2; y = C h + D x (one channel, one state).
    x = torch.tensor([[[1.0, 2.0]]], dtype=torch.float64)
    dt, A = torch.tensor([0.5], dtype=torch.float64), torch.tensor([[-2.0]], dtype=torch.float64)
    B, C = torch.tensor([[3.0]], dtype=torch.float64), torch.tensor([[4.0]], dtype=torch.float64)
    D = torch.tensor([0.25], dtype=torch.float64)
    h1 = 0.5 * 3.0 * 1.0
    h2 = torch.exp(torch.tensor(-1.0, dtype=torch.float64)) * h1 + 0.5 * 3.0 * 2.0
    want = torch.stack([4 * torch.tensor(h1, dtype=torch.float64) + 0.25, 4 * h2 + 0.5])
    torch.testing.assert_close(ssm_scan(x, dt, A, B, C, D)[0, 0], want)


@pytest.mark.parametrize("length", [1, 2, 7, 1000, 1025])
def test_lti_kernel_equals_direct_exponentials(length):
    _, dt, A, B, C, _, _ = ssm_inputs(1, 4, 3, 1, selective=False)
    steps = torch.arange(length, dtype=torch.float64)
    want = torch.einsum(
        "en,enl->el", C * B * dt[:, None], torch.exp((dt[:, None] * A)[..., None] * steps)
    )
    torch.testing.assert_close(lti_kernel(dt, A, B, C, length), want, rtol=1e-12, atol=1e-14)
