"""SSM scan Triton kernels under the Triton interpreter, against the reference twin."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import (
    assert_guard_intact,
    guarded_empty,
    interpret_only,
    ssm_inputs,
    strided,
)

from nasx.kernels import ssm_scan, ssm_scan_ref, triton_on_cpu
from nasx.kernels.ssm_scan import _ssm_scan_bwd_op, _ssm_scan_op

pytestmark = interpret_only


@pytest.fixture
def small_chunks(monkeypatch):
    """Backward checkpoints every 4 steps, so short tests cross several chunks."""
    from nasx.kernels import ssm_scan_triton

    monkeypatch.setattr(ssm_scan_triton, "_CHUNK", 4)


@pytest.mark.parametrize("shape", [(2, 5, 3, 9), (1, 40, 16, 4)])  # masked tiles; 2 E blocks
@pytest.mark.parametrize("selective", [False, True])
@pytest.mark.parametrize("gate", [True, False])
def test_forward_matches_twin_fp32_into_guarded_view(shape, selective, gate):
    from nasx.kernels.ssm_scan_triton import ssm_scan_fwd_triton

    args = ssm_inputs(*shape, selective, gate, dtype=torch.float32)
    args[0] = strided(args[0])  # non-contiguous input
    buf, out = guarded_empty(args[0].shape, torch.float32)
    y = ssm_scan_fwd_triton(*args, out=out)
    assert y.data_ptr() == out.data_ptr()
    torch.testing.assert_close(out, ssm_scan_ref(*args), rtol=0, atol=1e-5)
    assert_guard_intact(buf)


@pytest.mark.parametrize("selective", [False, True])
@pytest.mark.parametrize("gate", [True, False])
def test_backward_matches_twin_fp32(small_chunks, selective, gate):
    from nasx.kernels.ssm_scan_triton import ssm_scan_bwd_triton

    args = ssm_inputs(2, 35, 3, 10, selective, gate, dtype=torch.float32)  # 10 = 4 + 4 + 2
    gy = torch.randn(2, 35, 10)
    leaves = [a.clone().requires_grad_() if a is not None else None for a in args]
    ssm_scan_ref(*leaves).backward(gy)
    grads = ssm_scan_bwd_triton(gy, *args)
    for got, leaf in zip(grads, leaves, strict=True):
        if leaf is None:
            assert got.numel() == 0
            continue
        torch.testing.assert_close(got, leaf.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("selective", [False, True])
def test_gradcheck_fp64_through_the_op(small_chunks, selective):
    args = ssm_inputs(2, 3, 2, 6, selective, gate=True)
    leaves = [a.requires_grad_() for a in args]
    with triton_on_cpu():
        assert torch.autograd.gradcheck(ssm_scan, leaves, fast_mode=True)


def test_opcheck_on_the_triton_path():
    args = ssm_inputs(2, 3, 2, 5, selective=True, gate=True)
    gy = torch.randn(2, 3, 5, dtype=torch.float64)
    with triton_on_cpu():
        torch.library.opcheck(_ssm_scan_op, args)
        torch.library.opcheck(_ssm_scan_bwd_op, [gy, *args])
