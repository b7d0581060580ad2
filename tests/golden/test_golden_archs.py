"""Existing archs keep every number through refactors: supernet, cost model, exports (issue 19).

The golden file holds 100 seeded archs over the presets (see tests/golden/golden_archs.py).
Integers, ids, tensor names, dtypes and shapes and the C header's layout must match exactly;
cost-model numbers and features to 1e-6 relative; values that pass through the seeded forward
passes (logits, export tensor sums, the C header's numbers) to 1e-3 relative: other CPUs'
vector kernels round those differently (up to 9e-5 relative in the logits), and a behaviour
change moves them by far more. An arch with a quantized layer gets 5e-2 of the magnitude for
its forward values: a rounding difference that lands a value on the other side of a fake
quantizer's step moves every later value by a step (up to 1.9e-2 of the logits' magnitude
on a CPU without AVX-512 against the record, made on one with it).
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


def _close(a: float, b: float, rel: float = 1e-6, floor: float = 1e-7) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=floor)


def _forward_close(a: float, b: float, scale: float, rel: float = 1e-3) -> bool:
    """Equal to the round-off of a seeded forward pass: ``rel`` of ``scale`` (the magnitude
    of the whole quantity, e.g. a tensor's sum of absolute values)."""
    return _close(a, b, rel=rel, floor=rel * scale + 1e-6)


def _quantized(arch: object) -> bool:
    """Whether any layer of ``arch`` has weights or activations below 32 bits."""
    if isinstance(arch, dict):
        return any((k in ("wbits", "abits") and isinstance(v, int) and v < 32)
                   or _quantized(v) for k, v in arch.items())
    return isinstance(arch, list) and any(_quantized(v) for v in arch)


def _sums_close(now: tuple[float, float], was: tuple[float, float], steps: float) -> bool:
    """``(sum, sum of |values|)`` equal to round-off: 1e-3 of the magnitude, plus ``steps``
    (integer data: a few quantized values one step off)."""
    tol = 1e-3 * was[1] + steps + 1e-6
    return abs(now[0] - was[0]) <= tol and abs(now[1] - was[1]) <= tol


def _check_fingerprints(where: str, b: dict, n: dict) -> None:
    """Export tensors and C header of one arch against the record."""
    assert list(n["export_tensors"]) == list(b["export_tensors"]), f"{where}: tensor names"
    for k, (dtype, shape, total, abs_total) in b["export_tensors"].items():
        nd, ns, nt, na = n["export_tensors"][k]
        assert (nd, ns) == (dtype, shape), f"{where}: tensor {k} is {nd} {ns}, was {dtype} {shape}"
        steps = 0.0 if "float" in dtype else 4.0
        assert _sums_close((nt, na), (total, abs_total), steps), (
            f"{where}: tensor {k} sums {nt}, {na} != {total}, {abs_total}")
    bh, nh = b["c_header"], n["c_header"]
    assert (nh["layout"], nh["count"]) == (bh["layout"], bh["count"]), f"{where}: C header changed"
    assert _sums_close((nh["sum"], nh["abs_sum"]), (bh["sum"], bh["abs_sum"]), 4.0), (
        f"{where}: C header numbers changed")


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
        _check_fingerprints(where, b, n)
        for mode, cost in b["cost"].items():
            for k, v in cost.items():
                ok = _close(v, n["cost"][mode][k]) if isinstance(v, float) else v == n[
                    "cost"][mode][k]
                assert ok, f"{where}: {mode} cost {k}: {n['cost'][mode][k]} != {v}"
        rel = 5e-2 if _quantized(b["arch"]) else 1e-3
        for k in _FLOAT_KEYS:
            if k in b or k in n:
                assert len(n[k]) == len(b[k]), f"{where}: {k} length"
                scale = max(map(abs, b[k]), default=0.0)
                bad = [j for j, (x, y) in enumerate(zip(b[k], n[k], strict=True))
                       if not _forward_close(y, x, scale, rel)]
                assert not bad, f"{where}: {k} differs at {bad[:5]}"
        for k in _NAMED_KEYS:
            bad = [f for f in b[k].keys() | n[k].keys()
                   if not _close(b[k].get(f, 0.0), n[k].get(f, 0.0))]
            assert not bad, f"{where}: {k} differs at {sorted(bad)[:5]}"


def test_quantized_archs_are_told_apart() -> None:
    assert not _quantized({"wbits": 32, "stages": [{"abits": 32, "blocks": [{"wbits": 32}]}]})
    assert _quantized({"wbits": 32, "stages": [{"abits": 32, "blocks": [{"abits": 8}]}]})
    assert _forward_close(1.04, 1.0, 1.0, 5e-2) and not _forward_close(1.04, 1.0, 1.0)
