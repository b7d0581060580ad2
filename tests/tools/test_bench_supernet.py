"""tools/bench_supernet.py: a tiny in-process run, its tables and figures, and the abort path."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "bench_supernet.py"


def _load_module() -> ModuleType:
    """Import tools/bench_supernet.py by path (tools/ is not a package)."""
    name = "bench_supernet_under_test"
    if name in sys.modules:
        return sys.modules[name]
    if str(SCRIPT.parent) not in sys.path:
        sys.path.insert(0, str(SCRIPT.parent))  # its sibling modules (supernet_report)
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


bench = _load_module()

TINY = ["--quick", "--archs", "2", "--op-archs", "1", "--repeats", "2", "--warmup", "1", "--quiet"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tiny run of ``main`` (both datasets, all groups) with --out and --json."""
    threads = torch.get_num_threads()
    out_dir = tmp_path_factory.mktemp("bench")
    md_path, json_path = out_dir / "bench.md", out_dir / "bench.json"
    try:
        rc = bench.main([*TINY, "--out", str(md_path), "--json", str(json_path)])
    finally:
        torch.set_num_threads(threads)
    return {
        "rc": rc,
        "md": md_path.read_text(encoding="utf-8"),
        "data": json.loads(json_path.read_text(encoding="utf-8")),
    }


def test_tiny_run_exits_zero_and_records_settings(tiny_run: dict[str, Any]) -> None:
    assert tiny_run["rc"] == 0
    data = tiny_run["data"]
    s = data["settings"]
    assert s["space"] == "hybrid-mcu" and s["batch_size"] == 32 and s["equiv_tol"] == 1e-5
    assert (s["archs"], s["op_archs"], s["repeats"], s["warmup"]) == (2, 1, 2, 1)
    assert data["threads"] == 1 and data["torch_version"] == torch.__version__
    assert data["cpu_model"] and data["command"].startswith("python tools/bench_supernet.py")


def test_raw_figures_are_positive_finite_and_consistent(tiny_run: dict[str, Any]) -> None:
    results = tiny_run["data"]["results"]
    expected = {("mixed", d): 2 for d in bench.DATASETS}
    expected.update({(op, d): 1 for op in bench.OP_GROUPS for d in bench.DATASETS})
    counts: dict[tuple[str, str], int] = {}
    for r in results:
        counts[(r["group"], r["dataset"])] = counts.get((r["group"], r["dataset"]), 0) + 1
        assert len(r["supernet_ms"]) == 2 and len(r["extracted_ms"]) == 2
        for t in (*r["supernet_ms"], *r["extracted_ms"]):
            assert math.isfinite(t) and t > 0
        assert math.isfinite(r["ratio"]) and r["ratio"] > 0
        assert r["ratio"] == pytest.approx(r["supernet_median_ms"] / r["extracted_median_ms"])
        # the benchmark verified the extracted module before timing it
        assert 0.0 <= r["max_abs_diff"] <= 1e-5
        if r["group"] != "mixed":  # op-only spaces hold nothing but that op
            assert set(r["ops"]) == {r["group"]}
    assert counts == expected


def test_summaries_cover_every_group_and_dataset(tiny_run: dict[str, Any]) -> None:
    data = tiny_run["data"]
    keys = {(s["group"], s["dataset"]) for s in data["summaries"]}
    for group in ("mixed", *bench.OP_GROUPS):
        for dataset in (*bench.DATASETS, "pooled"):
            assert (group, dataset) in keys
    for s in data["summaries"]:
        assert math.isfinite(s["median_ratio"]) and s["median_ratio"] > 0
        assert s["min_ratio"] <= s["p25_ratio"] <= s["median_ratio"] <= s["p75_ratio"]
        assert s["p75_ratio"] <= s["max_ratio"]
        assert s["supernet_median_ms"] > 0 and s["extracted_median_ms"] > 0
    pooled_mixed = next(
        s for s in data["summaries"] if s["group"] == "mixed" and s["dataset"] == "pooled"
    )
    assert pooled_mixed["archs"] == 4
    assert data["overall_median_ratio"] == pooled_mixed["median_ratio"]


def test_markdown_has_header_and_both_tables(tiny_run: dict[str, Any]) -> None:
    md = tiny_run["md"]
    assert "- command: `python tools/bench_supernet.py --quick" in md
    assert f"torch {torch.__version__}, 1 thread(s); CPU: " in md
    assert "## Overall (all ops)" in md and "## Per op type" in md
    per_op = md.split("## Per op type", 1)[1]
    rows = [line for line in per_op.splitlines() if line.startswith("| ") and "pooled" in line]
    assert [row.split("|")[1].strip() for row in rows] == list(bench.OP_GROUPS)
    assert "**Overall median ratio: " in md
    assert "Per-op median ratios (pooled): conv " in md


def test_op_only_space_allows_just_that_op() -> None:
    base = bench.load_space("hybrid-mcu")
    for op in bench.OP_GROUPS:
        space = bench.op_only_space(base, op)
        assert all(stage.ops == (op,) for stage in space.stages)
        assert [st.width for st in space.stages] == [st.width for st in base.stages]


def test_a_wrong_extraction_aborts_before_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    original = bench.Supernet.extract
    timed: list[int] = []

    def broken_extract(self: Any, arch: Any = None) -> Any:
        static = original(self, arch)
        with torch.no_grad():
            static.classifier.bias.add_(1e-3)  # a difference well above 1e-5
        return static

    monkeypatch.setattr(bench.Supernet, "extract", broken_extract)
    monkeypatch.setattr(bench, "time_pair", lambda *a, **k: timed.append(1) or ([1.0], [1.0]))
    threads = torch.get_num_threads()
    try:
        with pytest.raises(bench.EquivalenceError, match="differs from the supernet"):
            bench.run_benchmark(datasets=["japanese-vowels"], groups=["mixed"], archs=1, op_archs=1)
        rc = bench.main(["--datasets", "japanese-vowels", "--groups", "attn", "--op-archs", "1",
                         "--quiet"])  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    assert rc == 1
    assert timed == []
