"""Shared helpers of the kernel tests: the interpreter marker, guard-padded outputs, inputs."""

from __future__ import annotations

import os

import pytest
import torch
from torch import Tensor

from nasx.kernels import HAS_TRITON

SENTINEL = 1234.5

# Interpreter tests run in their own pytest process started with TRITON_INTERPRET=1 (set before
# triton is imported); in any other process they are skipped.
interpret_only = [
    pytest.mark.interpret,
    pytest.mark.skipif(
        os.environ.get("TRITON_INTERPRET") != "1",
        reason="Triton interpreter test: run with TRITON_INTERPRET=1 pytest -m interpret",
    ),
    pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed"),
]


def guarded_empty(
    shape: tuple[int, ...], dtype: torch.dtype, pad: int = 2
) -> tuple[Tensor, Tensor]:
    """A sentinel-filled buffer ``pad`` larger on each side of every dim, and its inner view.

    The view is non-contiguous (for ``dim >= 2``): a kernel writing into it must honour its
    strides, and any stray write lands in the guard region, which :func:`assert_guard_intact`
    checks.
    """
    buf = torch.full(tuple(s + 2 * pad for s in shape), SENTINEL, dtype=dtype)
    view = buf[tuple(slice(pad, pad + s) for s in shape)]
    return buf, view


def assert_guard_intact(buf: Tensor, pad: int = 2) -> None:
    """Every element of ``buf`` outside the inner view still holds the sentinel."""
    outside = torch.ones_like(buf, dtype=torch.bool)
    outside[tuple(slice(pad, s - pad) for s in buf.shape)] = False
    assert (buf[outside] == SENTINEL).all(), "a kernel wrote outside its output view"


def strided(t: Tensor, pad: int = 3) -> Tensor:
    """The same values as ``t`` in a non-contiguous view of a larger tensor."""
    big = torch.randn(*(s + pad for s in t.shape), dtype=t.dtype)
    view = big[tuple(slice(1, 1 + s) for s in t.shape)]
    view.copy_(t)
    return view


def ssm_inputs(bt, e, n, length, selective, gate=True, dtype=torch.float64, seed=0):
    """Random, stable SSM inputs: ``[x, dt, A, B, C, D, z]``."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=dtype)

    x, D = randn(bt, e, length), randn(e)
    A = -torch.rand(e, n, generator=g, dtype=dtype) - 0.1
    z = randn(bt, e, length) if gate else None
    if selective:
        dt = torch.rand(bt, e, length, generator=g, dtype=dtype) * 0.5 + 0.05
        B, C = randn(bt, n, length), randn(bt, n, length)
    else:
        dt = torch.rand(e, generator=g, dtype=dtype) * 0.5 + 0.05
        B, C = randn(e, n), randn(e, n)
    return [x, dt, A, B, C, D, z]


def lstm_inputs(bt, length, nh, dh, dtype=torch.float64, seed=0):
    """``[gates_x (Bt, L, 4, NH, DH), R (NH, 4, DH, DH), h0, c0]``."""
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(bt, length, 4, nh, dh, generator=g, dtype=dtype),
        torch.randn(nh, 4, dh, dh, generator=g, dtype=dtype) * 0.3,
        torch.randn(bt, nh, dh, generator=g, dtype=dtype),
        torch.randn(bt, nh, dh, generator=g, dtype=dtype),
    ]


def dwconv_inputs(bt, c, length, k, bias=True, gate=True, dtype=torch.float64, seed=0):
    """``[x, w, bias, gate]``."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=dtype)

    return [randn(bt, c, length), randn(c, k), randn(c) if bias else None,
            randn(bt, c, length) if gate else None]  # fmt: skip
