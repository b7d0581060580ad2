"""tools/bench_kernels.py: its table and the GPU mode's refusal (its figures: BENCHMARKS.md)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bench_kernels.py"


def load_tool():
    if "bench_kernels" in sys.modules:
        return sys.modules["bench_kernels"]
    spec = importlib.util.spec_from_file_location("bench_kernels", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_kernels"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without CUDA")
def test_gpu_mode_says_cuda_is_missing(capsys):
    assert load_tool().main(["--gpu"]) == 2
    assert "needs a CUDA device" in capsys.readouterr().err


def test_markdown_table_has_the_ratio():
    tool = load_tool()
    row = tool.Row("case", "fused", "base", 2.0, 30.0, 1e-6)
    table = tool.markdown([row], "title")
    assert "| case | fused | 2.00 | base | 30.00 | 15.0x | 1.0e-06 |" in table
