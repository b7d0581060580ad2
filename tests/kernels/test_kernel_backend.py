"""Backend choice: the guarded triton import and the interpreter-only CPU routing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from nasx.kernels import triton_on_cpu
from nasx.kernels._backend import compute_dtype, use_triton

NO_TRITON = textwrap.dedent(
    """
    import sys
    class BlockTriton:
        def find_spec(self, name, path=None, target=None):
            if name == "triton" or name.startswith("triton."):
                raise ImportError("triton blocked for this test")
    sys.meta_path.insert(0, BlockTriton())
    import torch
    import nasx.kernels as k
    assert not k.HAS_TRITON
    x = torch.randn(2, 3, 40)
    ssm = (x, torch.rand(3) + 0.1, -torch.rand(3, 4), torch.randn(3, 4), torch.randn(3, 4),
           torch.randn(3))
    assert torch.allclose(k.ssm_scan(*ssm), k.ssm_scan_ref(*ssm), atol=1e-5)
    w = torch.randn(5, 7)
    assert torch.equal(k.fake_quant_weight(w, 4), k.fake_quant_weight_ref(w, 4))
    y = k.causal_dwconv1d(x, torch.randn(3, 4), None, "silu")
    print("ok", tuple(y.shape))
    """
)


def test_cpu_only_install_without_triton_still_works():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run([sys.executable, "-c", NO_TRITON], capture_output=True, text=True,
                          env=env, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok (2, 3, 40)"


@pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") == "1", reason="outside the interpreter")
def test_cpu_tensors_never_take_the_triton_path_outside_the_interpreter():
    assert not use_triton(torch.zeros(1))
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"), triton_on_cpu():
        pass


def test_compute_dtype_promotes_only_float64():
    half, double = torch.zeros(1, dtype=torch.float16), torch.zeros(1, dtype=torch.float64)
    assert compute_dtype(half, None) == torch.float32
    assert compute_dtype(half, double) == torch.float64
