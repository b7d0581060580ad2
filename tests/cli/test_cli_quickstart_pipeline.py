"""`nasx quickstart` end to end on the tiny space: train, profile, predictor, search, export;
the budget table names exported, verified subnets that meet their budgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasx.cli import main

# default budgets: the host-cpu one is derived from the run's measured latency predictor
FAST_PIPELINE = ("--profile-samples", "6", "--predictor-samples", "10", "--evaluations", "200",
                 "space=tiny", "train.epochs=2", "train.batches_per_epoch=3",
                 "train.eval_random=1", "train.calib_batches=1")


def test_the_whole_pipeline_exports_one_subnet_per_budget(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    out_dir = tmp_path / "qs"
    code = main(["quickstart", "--out", str(out_dir), "--archs", "0", *FAST_PIPELINE])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    pareto = json.loads((out_dir / "search" / "pareto.json").read_text())
    names = [b["name"] for b in pareto["budgets"]]
    assert names[0] == "stm32f746: sram<=256KB, flash<=1MB"
    assert names[1].startswith("host-cpu: latency<=") and names[1].endswith("ms")
    assert f"[search] budgets: {names[0]}; {names[1]}" in out
    lines = out.splitlines()
    start = lines.index("best subnet per budget (exported, verified against the supernet):")
    rows = [line for line in lines[start + 2:] if line.startswith(("stm32f746", "host-cpu"))]
    assert len(rows) == 2
    for budget, row in zip(pareto["budgets"], rows, strict=True):
        best = pareto["subnets"][budget["best"]]
        assert best["id"] in row
        export = out_dir / "exports" / best["id"]
        metrics = json.loads((export / "metrics.json").read_text())
        checks = {k: v for k, v in metrics["verification"].items() if "passed" in v}
        assert {"torch", "pt2", "onnx"} <= set(checks) and all(
            v["passed"] for v in checks.values())
        cost = metrics["cost"][budget["device"]]["whole-sequence"]
        if budget["device"] == "stm32f746":
            assert cost["sram_kb"] <= 256 and cost["flash_kb"] <= 1024
            assert (export / "model.h").is_file()
        assert f"{metrics['accuracy']['test']:.4f}" in row
        assert f"{metrics['latency']['measured_ms']['onnxruntime']:.3f}" in row
    assert (out_dir / "predictors" / "accuracy").is_dir()
    assert lines[-1] == f"tensorboard --logdir {out_dir / 'tb'}"
    assert lines[-2] == f"nasx inspect --run {out_dir}"


def test_until_and_bad_budgets_fail_before_training(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    out_dir = tmp_path / "qs"
    code = main(["quickstart", "--out", str(out_dir), "--budgets", "stm32f746: sram<=lots",
                 "space=tiny"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and err.startswith("nasx: error: ")
    assert not out_dir.exists()
    code = main(["quickstart", "--out", str(out_dir), "--profile-samples", "2", "space=tiny"])
    _, err = capsys.readouterr()
    assert (code, err) == (2, "nasx: error: --profile-samples 2: give an integer >= 4\n")
    assert not out_dir.exists()
