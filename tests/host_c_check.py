"""The host C build's logits against the torch module's, shared by the C runtime tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nasx.export.mcu.build import GoldenRun, build_and_run_host


def check_host_build(folder: Path, ref: torch.Tensor, exact: bool) -> GoldenRun:
    """Build and run the C export written in ``folder`` with the host's cc; its logits equal
    ``ref`` (``(B, classes)``) within 1e-4 when ``exact`` (no activation quantization), else
    its argmax agrees on >= 99% of the sequences. Returns the run for further checks."""
    ran = build_and_run_host(folder, ref.shape[1])
    assert ran.returncode == 0 and ran.logits.shape == ref.shape
    diff = float((ran.logits - ref).abs().max())
    assert diff == pytest.approx(ran.max_abs_diff, rel=1e-6, abs=1e-9)
    if exact:
        assert diff <= 1e-4
    else:
        assert float((ran.logits.argmax(1) == ref.argmax(1)).float().mean()) >= 0.99
    return ran
