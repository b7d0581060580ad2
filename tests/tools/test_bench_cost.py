"""tools/bench_cost.py: the module checks agree on a few archs, and the timing reports a rate."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "bench_cost.py"


def _load_module() -> ModuleType:
    """Import tools/bench_cost.py by path (tools/ is not a package)."""
    name = "bench_cost_under_test"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_every_quantity_agrees_on_tiny_archs() -> None:
    agree = _load_module().check_space("tiny", archs=3, length=16, seed=1)
    assert agree == {"weight bytes": 3, "params": 3, "MACs": 3, "peak SRAM whole": 3,
                     "peak SRAM streaming": 3}


def test_timing_reports_positive_rates() -> None:
    cold, warm = _load_module().time_genomes("tiny", 200, 16, "nrf52840", seed=0)
    assert cold > 0 and warm > 0
