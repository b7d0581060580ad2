"""tools/bench_predictors.py, latency part: the noise floor by hand, and a small real run."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from tool_loader import load_tool

from nasx.predictors.latency.data import LatencyDataset, ProfileSettings


def _load_module() -> ModuleType:
    """tools/bench_predictors.py as a module."""
    return load_tool("bench_predictors")


def test_noise_floor_compares_even_and_odd_rounds(tmp_path: Path) -> None:
    settings = ProfileSettings("host-cpu", "s", "0" * 12, 1, 2, 3, 1, 1, 0, 2, "x")
    ds = LatencyDataset(tmp_path / "d.jsonl", settings)
    ds.append([("a", [0], 0, [1.0, 2.0]), ("a", [0], 1, [1.05, 3.0]),
               ("b", [1], 0, [1.0, 1.2]), ("b", [1], 1, [1.5, 1.6]), ("b", [1], 2, [0.9, 5.0]),
               ("c", [2], 0, [7.0])])  # c has one round only: not counted
    floor = _load_module().noise_floor(ds, ["a", "b", "c"], "min")
    # a: 1.0 vs 1.05 -> 4.76 %; b: min(1.0, 1.2, 0.9, 5.0) = 0.9 vs 1.5 -> 40 %
    assert floor["n"] == 2 and floor["within_10"] == 0.5
    assert floor["median_diff"] == pytest.approx((100 * (1 - 1 / 1.05) + 40.0) / 2)
    floor = _load_module().noise_floor(ds, ["a", "b"], "median")
    # a: 1.5 vs 2.025; b: median(1.0, 1.2, 0.9, 5.0) = 1.1 vs 1.55
    assert floor["median_diff"] == pytest.approx(100 * ((1 - 1.5 / 2.025) + (1 - 1.1 / 1.55)) / 2)


def test_latency_part_prints_both_statistics_and_rates(capsys, tmp_path: Path) -> None:
    code = _load_module().main(["--part", "latency", "--latency-space", "tiny",
                                "--latency-samples", "12", "--latency-rounds", "2",
                                "--latency-runtime", "torch",
                                "--latency-out", str(tmp_path), "--speed-genomes", "300"])
    out = capsys.readouterr().out
    assert code == 0
    rows = [x for x in out.splitlines() if x.startswith(("| min |", "| median |"))]
    assert [r.split("|")[2:4] for r in rows] == [[" 11 ", " 3 "]] * 2  # 12 // 4 held out
    assert "| LatencyPredictor.predict | 300 |" in out
    assert "28 (subnet, round) pairs measured in this run" in out  # 14 x 2
    code = _load_module().main(["--part", "speed", "--latency-space", "tiny",
                                "--latency-runtime", "torch",
                                "--latency-out", str(tmp_path), "--speed-genomes", "300"])
    assert code == 0 and "| CostModel.costs (analytic, host-cpu roofline) | 300 |" in (
        capsys.readouterr().out)
