"""tools/bench_predictors.py, accuracy part: split-half reliability by hand, and a small real
run on a tiny supernet whose printed scores match a fit done here."""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from tool_loader import load_tool

from nasx.cli import main
from nasx.predictors.accuracy import fit_accuracy_predictor
from nasx.predictors.accuracy_data import records_arrays
from nasx.predictors.accuracy_fit import build_run_dataset
from nasx.predictors.rank_metrics import rank_metrics
from nasx.train.run_eval import load_trained_run

TINY = ["--space", "tiny", "train.epochs=3", "train.batches_per_epoch=3", "data.batch_size=16",
        "train.calib_batches=1", "train.eval_random=1", "train.delay=0"]


def _load_module() -> ModuleType:
    """tools/bench_predictors.py as a module."""
    return load_tool("bench_predictors")


def test_split_half_reliability_by_hand() -> None:
    bench = _load_module()
    # Every sequence gives each subnet the same value: the halves agree exactly.
    same = np.repeat(np.linspace(0, 1, 8)[:, None], 10, axis=1)  # (subnets, sequences)
    rel = bench.split_half_reliability(same, seed=0, repeats=5)
    assert rel["half_r"] == pytest.approx(1.0) and rel["reliability"] == pytest.approx(1.0)
    assert rel["tau_ceiling"] == pytest.approx(1.0) and rel["half_tau"] == pytest.approx(1.0)
    # Subnet signal s plus independent noise per sequence: half means correlate at
    # var(s) / (var(s) + var(noise) / (n/2)); with var(s) = 1, noise 1, n = 400 -> 200/201.
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(400, 1))
    noisy = signal + rng.normal(size=(400, 400)) * math.sqrt(200)  # half-mean noise var 1
    rel = bench.split_half_reliability(noisy, seed=0, repeats=20)
    assert rel["half_r"] == pytest.approx(0.5, abs=0.06)  # 1 / (1 + 1)
    assert rel["reliability"] == pytest.approx(2 * rel["half_r"] / (1 + rel["half_r"]))
    assert rel["tau_ceiling"] == pytest.approx(
        2 / math.pi * math.asin(math.sqrt(rel["reliability"])))


def test_accuracy_part_on_a_tiny_run(capsys, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *TINY]) == 0
    capsys.readouterr()
    code = _load_module().main(["--part", "accuracy", "--run", str(run), "--sizes", "12,10",
                                "--holdout", "10", "--genomes", "500"])
    out = capsys.readouterr().out
    assert code == 0
    rows = [line for line in out.splitlines() if re.match(r"^\| 1[02] \|", line)]
    assert [r.split("|")[1].strip() for r in rows] == ["10", "12"]
    # The printed tau at 12 is a fit of the first 12 training subnets scored on the held-out 10.
    train, held = build_run_dataset(load_trained_run(run), samples=12, holdout=10, seed=0,
                                    progress=False)
    genomes, acc = records_arrays(train[:12])
    pred = fit_accuracy_predictor(load_trained_run(run).space, genomes, acc, seed=0)
    gh, ah = records_arrays(held)
    tau = rank_metrics(pred.predict(gh)[0], ah)["kendall_tau"]
    cells = [c.strip() for c in rows[1].split("|")]
    assert cells[2] == pred.info["selection"]["chosen"]
    assert cells[3] == f"**{tau:.3f}**"
    assert "12 training + 10 held-out subnets" in out
    assert re.search(r"\| accuracy \| -?\d\.\d{3} \| -?\d\.\d{3} \| -?\d\.\d{3} \| -?\d\.\d{3} \|",
                     out)
    assert re.search(r"ridge [\d,]+/s, MLP ensemble [\d,]+/s", out)
