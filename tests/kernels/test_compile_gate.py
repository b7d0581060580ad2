"""The ahead-of-time compile gate (tools/compile_gate.py): every kernel compiles for sm_90."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nasx.kernels import HAS_TRITON

GATE = Path(__file__).resolve().parents[2] / "tools" / "compile_gate.py"
EXPECTED = {
    "ssm_scan_fwd", "ssm_scan_bwd_lti", "ssm_scan_bwd_selective", "causal_dwconv1d_fwd",
    "causal_dwconv1d_bwd_pre", "causal_dwconv1d_bwd_x", "fake_quant_weight", "fake_quant_act",
}  # fmt: skip


@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed: nothing to compile")
def test_every_kernel_compiles_for_sm90_without_spills():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run([sys.executable, str(GATE), "--json"], capture_output=True, text=True,
                          env=env, timeout=600)  # fmt: skip
    if proc.returncode == 2:
        pytest.skip(f"ptxas/cuobjdump unavailable: {proc.stderr.strip()}")
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    failed = [f"{r['name']}: {r['error']}" for r in results if not r["ok"]]
    assert not failed, "\n".join(failed)
    assert proc.returncode == 0, proc.stderr
    assert {r["name"] for r in results} == EXPECTED
    for r in results:
        assert 0 < r["registers"] <= 255
        assert r["local_bytes"] == 0 and r["stack_bytes"] == 0
        assert 0 <= r["shared_bytes"] <= 227 * 1024
