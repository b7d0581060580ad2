"""``nasx inspect`` on a tiny run's search: the table (runtime and pick rule), JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from test_search_cli import load, search

from nasx.cli import main
from nasx.cli.inspect_cmd import gap_lines


def test_inspect_formats(run_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "--run", str(run_copy)]) == 2
    assert capsys.readouterr().err == (
        f"nasx: error: {run_copy / 'search' / 'pareto.json'}: no search results; run nasx "
        f"search --run {run_copy} first\n")
    assert search(run_copy, "--rounds", "1") == 0
    doc, _ = load(run_copy)
    capsys.readouterr()
    assert main(["inspect", "--run", str(run_copy), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == doc
    assert main(["inspect", "--run", str(run_copy), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["id"] for r in rows] == [s["id"] for s in doc["subnets"]]
    for r, s in zip(rows, doc["subnets"], strict=True):
        assert float(r["pred_accuracy"]) == pytest.approx(s["predicted"]["accuracy"], rel=1e-5)
        assert r["device"] == s["device"]
        assert (r["val_accuracy"] == "") == (s["validated"] is None)
    for b in doc["budgets"]:
        assert b["name"] in rows[b["best"]]["best_for"]
    assert main(["inspect", "--run", str(run_copy)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["#", "device", "arch", "id"]
    # a line per subnet, two per budget (its pick and the rule), two gap lines and two notes
    assert len(table) == 1 + len(doc["subnets"]) + 2 * len(doc["budgets"]) + 2 + 2
    assert table[0].split()[11:13] == ["kind", "runtime"]
    for s, line in zip(doc["subnets"], table[1:], strict=False):
        assert line.split()[:3] == [str(s["index"]), s["device"], s["id"]]
        runtime = {"stm32f746": "c", "host-cpu": "torch"}[s["device"]]
        assert f" {s['predicted']['latency_label']} {runtime} " in " ".join(line.split())
    budget_lines = table[1 + len(doc["subnets"]):-4]
    for b, (line, rule) in zip(doc["budgets"], zip(budget_lines[::2], budget_lines[1::2],
                                                      strict=True), strict=True):
        assert line == f"budget {b['name']}: #{b['best']} {doc['subnets'][b['best']]['id']}"
        assert rule.startswith(f"  picked as {b['pick']['rule']}")
    assert [r["latency_runtime"] for r in rows] == [s["predicted"]["runtime"]
                                                    for s in doc["subnets"]]
    assert table[-1] == f"tensorboard --logdir {run_copy / 'tb'}"
    # one front-gap line per device, from the last round of pareto.json
    for r, line in zip(doc["rounds"], table[-4:-2], strict=True):
        assert line.startswith(f"round 1, {r['device']}: mean |predicted - validated| accuracy "
                               f"{100 * r['mean_abs_gap']:.2f} points over {r['validated']} "
                               "validated subnets (")
        assert line.endswith(f"validation noise alone: about {100 * r['noise_abs_gap']:.2f})")
    assert gap_lines([{"round": 1, "device": "d", "mean_abs_gap": 0.01, "validated": 3}]) == [
        "round 1, d: mean |predicted - validated| accuracy 1.00 points over 3 validated subnets"]
    assert gap_lines([{"round": 1, "device": "d", "mean_abs_gap": None}]) == []
