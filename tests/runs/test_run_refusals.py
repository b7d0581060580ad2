"""Damaged search results and impossible budgets stop with one line (issue 20, items 3, 4, 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasx.cli import main
from nasx.search.budgets import parse_budget
from nasx.search.pareto import SubnetEntry, pareto_document
from nasx.search_spaces import arch_id, load_space, random_arch

SPACE = load_space("tiny")


def valid_pareto(run: Path) -> dict[str, Any]:
    """A ``pareto.json`` document as ``nasx search`` writes it: 3 subnets, 2 budgets."""
    rng = np.random.default_rng(0)
    entries = []
    for i, device in enumerate(("stm32f746", "stm32f746", "host-cpu")):
        arch = random_arch(SPACE, rng)
        entries.append(SubnetEntry(
            id=arch_id(arch), arch=arch, device=device, on_front=i != 1,
            predicted={"accuracy": 0.5 + i / 10, "accuracy_std": 0.01, "latency_ms": 1.0 + i,
                       "sram_kb": 8.0, "flash_kb": 40.0,
                       "latency_label": "analytic" if i < 2 else "estimate"},
            validated=None if i == 1 else {"accuracy": 0.5, "latency_ms": None}))
    budgets = [(parse_budget("stm32f746: sram<=256KB, flash<=1MB"), 0),
               (parse_budget("host-cpu: latency<=4ms"), 2)]
    rounds = [{"round": 1, "device": "stm32f746", "evaluated": 100, "front": 2, "validated": 2,
               "mean_abs_gap": 0.02, "mean_gap": 0.01, "unseen": 1, "mean_abs_gap_unseen": 0.03,
               "noise_abs_gap": 0.01, "hypervolume": 0.2}]
    return pareto_document(run, entries, budgets, settings={"seed": 0}, rounds=rounds)


def write_pareto(run: Path, doc: Any) -> Path:
    path = run / "search" / "pareto.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(("damage", "problem"), [
    (lambda d: d["budgets"][0].update(best=7), "budgets[0].best: 7 is not an index into subnets "
                                                "(0..2) or null"),
    (lambda d: d["subnets"][1]["predicted"].update(accuracy="high"),
     "subnets[1].predicted.accuracy: expected a number"),
    (lambda d: d["subnets"][2].pop("predicted"), "subnets[2].predicted: expected an object"),
    (lambda d: d["rounds"][0].update(device=None), "rounds[0].device: expected a str"),
    # found by the fuzz of test_damaged_run_files: a KeyError in inspect's table and csv
    (lambda d: d["subnets"][0].pop("validated"), "subnets[0].validated: missing (an object or "
                                                  "null)"),
])
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_inspect_rejects_a_damaged_pareto_file_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Any, problem: str,
        fmt: str) -> None:
    # before: IndexError, ValueError and KeyError tracebacks with exit 1
    doc = valid_pareto(tmp_path)
    path = write_pareto(tmp_path, doc)
    assert main(["inspect", "--run", str(tmp_path), "--format", fmt]) == 0
    damage(doc)
    write_pareto(tmp_path, doc)
    capsys.readouterr()
    assert main(["inspect", "--run", str(tmp_path), "--format", fmt]) == 2
    assert capsys.readouterr().err == (
        f"nasx: error: {path}: {problem}; rerun nasx search (the earlier searches are kept in "
        "numbered folders beside it)\n")


def test_inspect_shows_the_arch_column(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from nasx.search_spaces import describe_arch

    doc = valid_pareto(tmp_path)
    write_pareto(tmp_path, doc)
    assert main(["inspect", "--run", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-3:] == ["best", "for", "arch"]  # before: no arch column
    for s, line in zip(doc["subnets"], lines[1:4], strict=True):
        assert line.startswith(f"{s['index']:>3} {s['device']:<14} {s['id']}")
        assert line.endswith("  " + describe_arch(s["arch"]))


def test_quickstart_refuses_an_impossible_budget_before_training(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # before: it trained, profiled and fitted the predictor, then failed at the search
    out = tmp_path / "runs" / "qs"
    assert main(["quickstart", "--out", str(out), "--space", "tiny", "--budgets",
                 "stm32f746: sram<=1KB"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nasx: error: budget 'stm32f746: sram<=1KB' cannot be met: the "
                          "smallest sram of any subnet of tiny on stm32f746 is ")
    assert err.count("\n") == 1 and not (tmp_path / "runs").exists()


def test_a_refused_train_leaves_no_folder_and_no_lock(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], write_npz: Any) -> None:
    # before: runs/.bad_nan.nasx-lock stayed behind for input refused before the folder existed
    x = np.ones((6, 2, 5))
    x[0, 0, 0] = np.nan
    data = write_npz("bad_nan.npz", X=x, y=np.arange(6) % 2)
    runs = tmp_path / "runs"
    runs.mkdir()
    assert main(["train", "--out", str(runs / "bad_nan"), "--space", "tiny",
                 f"data.name=npz:{data}"]) == 2
    assert "NaN/inf" in capsys.readouterr().err
    assert list(runs.iterdir()) == []
