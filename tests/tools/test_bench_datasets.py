"""tools/bench_datasets.py and tools/bench_groups.py: picks, padding, the table, the data."""

from __future__ import annotations

import json

import numpy as np
from tool_loader import load_tool


def _doc() -> dict:
    def sub(i: str, val: float | None, pred: float) -> dict:
        return {"id": i, "arch": {"a": i}, "predicted": {"accuracy": pred},
                "validated": None if val is None else {"accuracy": val}}
    return {"subnets": [sub("a", 0.9, 0.99), sub("b", 0.95, 0.9), sub("c", 0.95, 0.92),
                        sub("d", None, 1.0)],
            "budgets": [{"device": "stm32f746", "best": 0}, {"device": "host-cpu", "best": None}]}


def test_best_validated_breaks_ties_by_prediction_and_unmet_budgets_are_none():
    picks = load_tool("bench_datasets")._picks(_doc())
    assert picks["best"]["id"] == "c" and picks["stm32f746"]["id"] == "a"
    assert picks["host-cpu"] is None
    # with a validation loss on every validated subnet, the lowest loss is the best
    doc = _doc()
    for k, loss in ((0, 0.3), (1, 0.5), (2, 0.4)):
        doc["subnets"][k]["index"] = k
        doc["subnets"][k]["validated"]["loss"] = loss
    assert load_tool("bench_datasets")._picks(doc)["best"]["id"] == "a"


def test_ragged_aeon_data_is_zero_padded():
    padded = load_tool("bench_datasets")._padded([np.ones((2, 3)), 2 * np.ones((2, 5))], 6)
    assert padded.shape == (2, 2, 6)
    assert padded[0].tolist() == [[1, 1, 1, 0, 0, 0]] * 2
    assert padded[1, :, 5].tolist() == [0, 0]


def test_table_rows_and_the_mean_over_complete_rows(tmp_path):
    tool = load_tool("bench_datasets")
    for name, best, mr in (("A", 0.9, 0.8), ("B", 0.7, 0.9)):
        folder = tmp_path / name
        folder.mkdir()
        picks = {k: {"id": "x", "val": 1.0, "test": best} for k in ("best", "stm32f746",
                                                                       "host-cpu")}
        (folder / "quickstart.json").write_text(json.dumps(
            {"seconds": 100.0, "cpu_seconds": 90.0, "resumed": False, "picks": picks}))
        (folder / "minirocket.json").write_text(json.dumps({"test": mr, "seconds": 2.0}))
        (folder / "standalone.json").write_text(json.dumps({"test": 0.85, "seconds": 50.0}))
    (tmp_path / "B" / "standalone.json").unlink()  # the standalone mean skips B
    (tmp_path / "C").mkdir()
    table = tool.markdown(tmp_path, ["ucr:A", "npz:B", "C"]).splitlines()
    assert table[2] == "| ucr:A | 90.0 | 90.0 | 90.0 | 80.0 | 85.0 | 100 (90) | 2 | 50 |"
    assert table[4] == "| C | - | - | - | - | - | - | - | - |"
    assert table[3] == "| npz:B | 70.0 | 70.0 | 70.0 | 90.0 | - | 100 (90) | 2 | - |"
    assert table[5] == ("| **mean of 2 complete rows** | 80.0 | 80.0 | 80.0 | 85.0 | 85.0 "
                        "| | | |")


def test_generated_subjects_share_no_subject_with_the_test_split(tmp_path):
    path = tmp_path / "s.npz"
    load_tool("bench_groups").make_subject_data(path, subjects=4, test_subjects=2, per_class=3)
    with np.load(path) as f:
        assert f["X"].shape == (48, 3, 48) and f["X_test"].shape == (24, 3, 48)
        assert sorted(set(f["groups"].tolist())) == [0, 1, 2, 3]
        assert np.bincount(f["y"]).tolist() == [12] * 4


def test_bench_refit_re_picks_the_cheapest_feasible_within_the_floor():
    def sub(i: int, device: str, val: float | None, ms: float, sram: float,
            measured: float | None = None) -> dict:
        return {"index": i, "id": f"s{i}", "device": device,
                "predicted": {"latency_ms": ms, "sram_kb": sram, "flash_kb": 10.0},
                "validated": None if val is None else {"accuracy": val,
                                                       "latency_ms": measured}}
    doc = {"subnets": [sub(0, "mcu", 0.90, 5.0, 100.0), sub(1, "mcu", 0.86, 2.0, 100.0),
                       sub(2, "mcu", 0.89, 1.0, 300.0),  # over the SRAM budget
                       sub(3, "mcu", None, 0.5, 10.0),  # never validated
                       sub(4, "cpu", 0.95, 1.0, 1.0, measured=3.0),  # measured over the limit
                       sub(5, "cpu", 0.93, 1.5, 1.0, measured=1.4)],
           "budgets": [{"name": "mcu", "device": "mcu", "best": 0,
                        "constraints": {"latency_ms": None, "sram_kb": 256.0,
                                        "flash_kb": 1024.0}},
                       {"name": "cpu", "device": "cpu", "best": 4,
                        "constraints": {"latency_ms": 2.0, "sram_kb": None, "flash_kb": None}}]}
    tool = load_tool("bench_refit")
    assert tool.picks(doc, 0.05) == {"mcu": {"recorded": "s0", "noise-aware": "s1"},
                                     "cpu": {"recorded": "s4", "noise-aware": "s5"}}
    assert tool.picks(doc, 0.0)["mcu"]["noise-aware"] == "s0"
    # with per-sequence losses: s1's loss is within one paired se of s0's (the lowest) and it
    # is cheaper; s5 is the only feasible cpu subnet
    losses = {0: np.array([0.2, 0.4, 0.3, 0.3]), 1: np.array([0.5, 0.3, 0.2, 0.4]),
              2: np.array([0.0, 0.0, 0.0, 0.0]), 4: np.zeros(4), 5: np.ones(4)}
    got = tool.picks(doc, 0.0, losses)
    assert got["mcu"] == {"recorded": "s0", "noise-aware": "s0", "loss-1se": "s1",
                          "loss-0se": "s0"}
    assert got["cpu"]["loss-1se"] == got["cpu"]["loss-0se"] == "s5"
    assert list(tool.picks(doc, 0.0, losses, (0.5,))["mcu"]) == ["recorded", "noise-aware",
                                                                 "loss-0.5se"]
