"""tools/bench_standalone.py and tools/bench_ablation.py: subnet picks, epoch matching, reports."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from tool_loader import load_tool

from nasx.config import RunConfig, load_config
from nasx.runs.trained import load_trained_run
from nasx.train.loop import train_supernet


def _load(name: str) -> ModuleType:
    """tools/<name>.py as a module."""
    return load_tool(name)


def test_standalone_picks_span_the_size_range(tmp_path: Path) -> None:
    cfg = load_config(RunConfig, None, ["space=tiny", "train.epochs=1",
                                        "train.batches_per_epoch=1", "train.calib_batches=1"])
    train_supernet(cfg, tmp_path / "run")
    run = load_trained_run(tmp_path / "run")
    picks = _load("bench_standalone").pick_subnets(run, sample=40, seed=0)
    archs = json.loads((tmp_path / "run" / "archs.json").read_text())
    assert [name for name, _, _ in picks] == ["smallest", "q25", "q50", "q75", "largest"]
    assert picks[0][1] == archs["smallest"]["arch"] and picks[-1][1] == archs["largest"]["arch"]
    macs = [m for _, _, m in picks]
    assert macs == sorted(macs) and macs[0] < macs[2] < macs[-1]
    assert picks == _load("bench_standalone").pick_subnets(run, sample=40, seed=0)  # seeded


def test_standalone_report_gives_the_mean_gap_and_the_verdict() -> None:
    rows = [{"name": n, "id": "0" * 12, "macs": 1000, "one_shot": o, "standalone": s,
             "gap_points": 100 * (s - o), "epoch_s": {"wall": 10.0, "cpu": 8.0}}
            for n, o, s in [("smallest", 0.90, 0.92), ("largest", 0.95, 0.945)]]
    res = {"data": "japanese-vowels", "rows": rows, "load_average": [1.0, 1.0, 1.0],
           "supernet_epoch_s": {"wall": 100.0, "cpu": None}}
    text = _load("bench_standalone").report(res)
    assert "| smallest | 000000000000 | 1,000 | 0.9000 | 0.9200 | +2.00 | 10 / 8 | (reused) |" \
        in text
    assert "mean gap (standalone - one-shot): +0.75 points over 2 subnets (target <= 1.0: met)" \
        in text
    assert "supernet 100 / n/a (one run, every subnet); standalone 20 / 16 for these 2" in text


def test_ablation_epochs_match_the_reference_compute() -> None:
    bench = _load("bench_ablation")
    per_epoch = {"deps": 1.0, "sandwich": 2.0, "progressive": 0.8, "paired": 1.0,
                 "first": 0.7}
    assert bench.matched_epochs(per_epoch, 120) == {
        "deps": 120, "sandwich": 60, "progressive": 150, "paired": 120, "first": 171}
    with pytest.raises(KeyError):
        bench.matched_epochs({"sandwich": 1.0}, 120)  # the reference must be calibrated
