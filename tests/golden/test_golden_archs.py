"""Existing archs keep every number through refactors: supernet, cost model, exports (issue 19).

The golden file holds 100 seeded archs over the presets (see tests/golden/golden_archs.py).
Integers, ids and digests (export tensors, C header) must match exactly; float outputs (logits,
latency, features) to 1e-6 relative, which is float32 round-off, not a behaviour change.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from golden_archs import GOLDEN, SPACES, space_record

_FLOAT_KEYS = ("supernet", "static", "export", "streaming")
_NAMED_KEYS = ("latency_features", "summary")


@pytest.fixture(scope="module")
def golden() -> list[dict]:
    return json.loads(GOLDEN.read_text())


def test_golden_file_covers_100_archs(golden: list[dict]) -> None:
    assert len(golden) == 100
    assert {e["space"] for e in golden} == set(SPACES)
    assert sum("streaming" in e for e in golden) == 20


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("name", SPACES)
def test_outputs_costs_and_exports_unchanged(golden: list[dict], name: str) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        now = space_record(name)
    finally:
        torch.set_num_threads(threads)
    before = [e for e in golden if e["space"] == name]
    assert len(now) == len(before)
    for i, (b, n) in enumerate(zip(before, now, strict=True)):
        where = f"{name} arch {i}"
        assert n["arch"] == b["arch"], where
        assert n["export_tensors"] == b["export_tensors"], f"{where}: export tensors changed"
        assert n["c_header"] == b["c_header"], f"{where}: C header changed"
        for mode, cost in b["cost"].items():
            for k, v in cost.items():
                ok = _close(v, n["cost"][mode][k]) if isinstance(v, float) else v == n[
                    "cost"][mode][k]
                assert ok, f"{where}: {mode} cost {k}: {n['cost'][mode][k]} != {v}"
        for k in _FLOAT_KEYS:
            if k in b or k in n:
                assert len(n[k]) == len(b[k]), f"{where}: {k} length"
                bad = [j for j, (x, y) in enumerate(zip(b[k], n[k], strict=True))
                       if not _close(x, y)]
                assert not bad, f"{where}: {k} differs at {bad[:5]}"
        for k in _NAMED_KEYS:
            bad = [f for f in b[k].keys() | n[k].keys()
                   if not _close(b[k].get(f, 0.0), n[k].get(f, 0.0))]
            assert not bad, f"{where}: {k} differs at {sorted(bad)[:5]}"
