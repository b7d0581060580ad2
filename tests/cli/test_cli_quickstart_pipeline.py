"""`nasx quickstart` end to end on the tiny space: train, profile, predictor, search, export;
the budget table names exported, verified subnets that meet their budgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tb_events import tb_problems

from nasx.cli import main

# a generous host-cpu budget: the default one (checked below) depends on measured latencies,
# which a loaded machine moves between the profile and the search's refits; host-cpu latency in
# eager torch (the onnxruntime default exports every profiled subnet, seconds each)
FAST_PIPELINE = ("--runtime", "torch", "--profile-samples", "6", "--predictor-samples", "10",
                 "--evaluations", "200",
                 "--budgets", "stm32f746: sram<=256KB, flash<=1MB; host-cpu: latency<=50ms",
                 "space=tiny", "train.epochs=2", "train.batches_per_epoch=3",
                 "train.eval_random=1", "train.calib_batches=1", "refit.steps=20")


def test_the_whole_pipeline_exports_one_subnet_per_budget(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    out_dir = tmp_path / "qs"
    code = main(["quickstart", "--out", str(out_dir), "--archs", "0", *FAST_PIPELINE])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    pareto = json.loads((out_dir / "search" / "pareto.json").read_text())
    names = [b["name"] for b in pareto["budgets"]]
    assert names == ["stm32f746: sram<=256KB, flash<=1MB", "host-cpu: latency<=50ms"]
    assert f"[search] budgets: {names[0]}; {names[1]}" in out
    lines = out.splitlines()
    start = lines.index("best subnet per budget (refitted for 20 steps on train + val, exported, "
                        "every format verified against it; val acc: the supernet's, which chose "
                        "it; test acc: the exported model's):")
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
        assert f"{metrics['accuracy']['supernet_val']:.4f}" in row  # what the search chose by
        assert metrics["refit"]["steps"] == 20
        if budget["device"] == "host-cpu":  # the latency the search measured when validating
            measured = best["validated"]["latency_ms"]
            assert f"{measured:.3f}" in row and measured <= 50
            pred = metrics["latency"]["predicted"]["host-cpu"]
            assert lines[lines.index(row) + 1].endswith(
                f"(latency: measured when the search validated it; {pred['label']}: "
                f"{pred['latency_ms']:.3f} ms)")
        assert f"{metrics['latency']['measured_ms']['onnxruntime']:.3f}" in row
    assert (out_dir / "predictors" / "accuracy").is_dir()
    assert lines[-1] == f"tensorboard --logdir {out_dir / 'tb'}"
    _check_tensorboard(out_dir, pareto)
    assert lines[-2] == f"nasx inspect --run {out_dir}"
    _check_default_host_budget(out_dir)
    _check_shared_pick(out_dir, pareto)


def _check_tensorboard(run_dir: Path, pareto: dict) -> None:
    """Every events file under tb/ holds described values; each pick's HParams sessions hold
    the exported model's test accuracy."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb = run_dir / "tb"
    assert tb_problems(tb) == []
    assert sorted(p.name for p in tb.iterdir()) == ["predictors", "search", "subnets", "train"]
    for b in pareto["budgets"]:
        best = pareto["subnets"][b["best"]]
        session = tb / "search" / "hparams" / best["device"] / f"{b['best']:03d}-{best['id']}"
        metrics = json.loads((run_dir / "exports" / best["id"] / "metrics.json").read_text())
        ea = EventAccumulator(str(session))
        ea.Reload()
        assert [e.value for e in ea.Scalars("search_subnet/test_accuracy")] == [
            pytest.approx(100 * metrics["accuracy"]["test"])]


def _check_shared_pick(run_dir: Path, pareto: dict) -> None:
    """Two budgets with the same best subnet: one export serves both, with both devices' costs
    (the second must not replace the first's)."""
    from nasx.quickstart import PipelineSettings, _export

    best = pareto["budgets"][0]["best"]
    doc = {**pareto, "budgets": [{**b, "best": best} for b in pareto["budgets"]]}
    rows = _export(run_dir, doc, PipelineSettings(), lambda line: None)
    assert [r.budget for r in rows] == [b["name"] for b in pareto["budgets"]]
    assert rows[0].folder == rows[1].folder and rows[0].arch_id == rows[1].arch_id
    metrics = json.loads((rows[0].folder / "metrics.json").read_text())
    assert {"stm32f746", "host-cpu"} <= set(metrics["cost"])
    assert (rows[0].folder / "model.h").is_file()  # the MCU budget's C header is kept
    # The same arch listed twice (once per device, at two indices): still one export with both
    # devices' costs.
    twin = {**pareto["subnets"][best], "device": "host-cpu", "index": len(pareto["subnets"])}
    doc = {**pareto, "subnets": [*pareto["subnets"], twin],
           "budgets": [{**pareto["budgets"][0], "best": best},
                       {**pareto["budgets"][1], "best": twin["index"]}]}
    (rows[0].folder / "metrics.json").unlink()
    rows = _export(run_dir, doc, PipelineSettings(), lambda line: None)
    assert rows[0].folder == rows[1].folder
    metrics = json.loads((rows[0].folder / "metrics.json").read_text())
    assert {"stm32f746", "host-cpu"} <= set(metrics["cost"])


def _check_default_host_budget(run_dir: Path) -> None:
    """The default host-cpu budget lies between the fastest sampled subnet's predicted latency
    and the largest's, rounded up to 3 significant digits."""
    from nasx.predictors.latency.model import LatencyPredictor, predictor_file
    from nasx.quickstart import host_budget
    from nasx.runs.trained import load_trained_run
    from nasx.search_spaces import GenomeCodec
    from nasx.train.run_eval import resolve_arch_specs

    run = load_trained_run(run_dir)
    pred = LatencyPredictor.load(predictor_file(run_dir / "predictors", "host-cpu", "torch"),
                                 run.space)
    codec = GenomeCodec(run.space)
    fixed = dict(resolve_arch_specs(run, ["largest", "smallest"]))
    largest, smallest = (1e3 * float(pred.predict(codec.encode(fixed[k])[None])[0])
                         for k in ("largest", "smallest"))

    def limit(fraction: float) -> float:
        text = host_budget(run, fraction, runtime="torch", samples=300)
        assert text.startswith("host-cpu: latency<=") and text.endswith("ms")
        return float(text[len("host-cpu: latency<="):-2])

    low, half, high = limit(1e-9), limit(0.5), limit(1.0)
    assert high == pytest.approx(float(f"{high:.3g}"))  # 3 significant digits
    if low <= largest:  # the largest subnet is predicted the slowest (the usual case)
        assert largest <= high <= largest * 1.01  # rounded up, never below the largest's
    else:  # measured timings put the largest below every sample: the budget is the fastest's
        assert high == low
    assert low <= smallest * 1.01  # the fastest sampled is at most the smallest's latency
    assert low <= half <= high


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


def test_a_host_pick_over_its_budget_when_measured_says_so() -> None:
    from nasx.quickstart import _host_latency

    predicted = {"latency_ms": 0.3096, "label": "latency predictor (host-cpu, batch 1, length 29)"}
    budget = {"name": "host-cpu: latency<=0.348ms", "constraints": {"latency_ms": 0.348}}
    over = {"validated": {"accuracy": 1.0, "latency_ms": 0.502}}
    assert _host_latency(over, budget, predicted) == (
        0.502, "measured when the search validated it; latency predictor (host-cpu, batch 1, "
        "length 29): 0.310 ms; OVER the 0.348 ms budget when measured (see the search log)")
    within = {"validated": {"accuracy": 1.0, "latency_ms": 0.3}}
    assert _host_latency(within, budget, predicted)[1].endswith(": 0.310 ms")
    assert _host_latency({"validated": None}, budget, predicted) == (0.3096, predicted["label"])
