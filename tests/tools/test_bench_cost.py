"""tools/bench_cost.py: the module checks agree on a few archs, and the timing reports a rate."""

from __future__ import annotations

from types import ModuleType

from tool_loader import load_tool


def _load_module() -> ModuleType:
    """tools/bench_cost.py as a module."""
    return load_tool("bench_cost")


def test_every_quantity_agrees_on_tiny_archs() -> None:
    agree = _load_module().check_space("tiny", archs=3, length=16, seed=1)
    assert agree == {"weight bytes": 3, "params": 3, "MACs": 3, "peak SRAM whole": 3,
                     "peak SRAM streaming": 3}


def test_timing_reports_positive_rates() -> None:
    cold, warm = _load_module().time_genomes("tiny", 200, 16, "nrf52840", seed=0)
    assert cold > 0 and warm > 0
