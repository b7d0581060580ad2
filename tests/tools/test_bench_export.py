"""tools/bench_export.py: the hand-written model computes what the exported module computes,
so the latency comparison is between equivalent models."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
import torch
from tool_loader import load_tool

from nasx.export import export_static, spec_for
from nasx.search_spaces import load_space, random_arch
from nasx.supernet import Supernet


def _load_module() -> ModuleType:
    """tools/bench_export.py as a module."""
    return load_tool("bench_export")


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_hand_written_model_equals_the_exported_module(seed: int) -> None:
    bench = _load_module()
    space = load_space("tiny")
    torch.manual_seed(seed)
    net = Supernet(space, 6, 3)
    arch = random_arch(space, np.random.default_rng(seed))
    x = torch.randn(4, 6, 21)
    net.train()
    net(x, None, arch=arch)  # activation ranges and BatchNorm statistics of this arch
    net.eval()
    with torch.no_grad():
        static = net.extract(arch).eval()
        ex = export_static(static, spec_for(space, static.arch, 6, 3))
        hand = bench.HandNet(ex).eval()
        assert (hand(x) - ex(x)).abs().max() <= 1e-5
    times = bench.interleaved_ms({"a": lambda: ex(x), "b": lambda: hand(x)}, rounds=3, calls=2)
    assert set(times) == {"a", "b"} and min(times.values()) > 0
