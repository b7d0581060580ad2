"""tools/bench_selection.py: rank correlations of validation signals with test accuracy."""

from __future__ import annotations

import pytest
from tool_loader import load_tool


def _row(val: float, loss: float, test: float, params: int) -> dict:
    return {"id": "x", "val": val, "val_loss": loss, "val_n": 6, "test": test, "params": params}


def test_summary_ranks_each_signal_against_test_accuracy():
    rows = [_row(1.0, 0.9, 0.70, 10), _row(0.5, 0.5, 0.80, 30), _row(0.5, 0.2, 0.90, 20)]
    s = load_tool("bench_selection").summarise(rows)
    assert s["records"] == 3 and s["val_n"] == 6
    assert s["rho_neg_val_loss"] == pytest.approx(1.0)  # lower loss, higher test: perfect
    assert s["rho_val_acc"] == pytest.approx(-0.8660254)  # ties share a rank
    assert s["rho_params"] == pytest.approx(0.5)
    assert (s["test_min"], s["test_median"], s["test_max"]) == (0.70, 0.80, 0.90)


def test_a_constant_signal_has_no_correlation():
    rows = [_row(1.0, 0.1 * i, 1.0, i) for i in range(1, 4)]
    s = load_tool("bench_selection").summarise(rows)
    assert s["rho_val_acc"] is None and s["rho_neg_val_loss"] is None
