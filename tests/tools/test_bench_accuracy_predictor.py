"""tools/bench_predictors.py, accuracy part: a small real run on a tiny supernet whose printed
scores match a fit done here."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import numpy as np
from tool_loader import load_tool

from nasx.cli import main
from nasx.predictors.accuracy.data import records_arrays
from nasx.predictors.accuracy.fit import build_run_dataset
from nasx.predictors.accuracy.predictor import fit_accuracy_predictor
from nasx.predictors.accuracy.rank_metrics import rank_metrics
from nasx.predictors.accuracy.reliability import split_half_reliability
from nasx.runs.trained import load_trained_run

TINY = ["--space", "tiny", "train.epochs=3", "train.batches_per_epoch=3", "data.batch_size=16",
        "train.calib_batches=1", "train.eval_random=1", "train.delay=0"]


def _load_module() -> ModuleType:
    """tools/bench_predictors.py as a module."""
    return load_tool("bench_predictors")


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
    # The precision row of validation accuracy is the library's estimate on the held-out
    # subnets' stored correctness.
    correct = np.array([r.correct() for r in held])
    rel = split_half_reliability(correct, seed=0)
    assert rel is not None
    assert (f"| validation accuracy | {correct.shape[1]} | {rel.split_half_r:.3f} | "
            f"{rel.reliability:.3f} | {rel.tau_expected:.3f} | {100 * rel.noise_sd:.2f} |") in out
    assert re.search(r"^- the predictor fitted on 12 subnets: -?\d\.\d{3}$", out, re.M)
    assert re.search(r"ridge [\d,]+/s, MLP ensemble [\d,]+/s, trees [\d,]+/s", out)


def test_features_and_calibration_parts_on_a_tiny_run(capsys, tmp_path: Path) -> None:
    from nasx.predictors.accuracy.features import ArchFeatures
    from nasx.predictors.accuracy.tree_ensemble import TreeEnsemble, TreeSettings
    from nasx.search_spaces import arch_id
    from nasx.train.evaluate import calibration_batches, evaluate_subnets

    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *TINY]) == 0
    capsys.readouterr()
    tool = _load_module()
    assert tool.main(["--part", "features", "--feature-runs", str(run), "--feature-seeds", "1",
                      "--feature-samples", "12"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith(f"| `{run}` | 1 |"))
    trained = load_trained_run(run)
    train, held = build_run_dataset(trained, samples=12, holdout=100, seed=1, progress=False)
    feats = ArchFeatures(trained.space)
    g, y = records_arrays(train[:12])
    hg, hy = records_arrays(held)
    want = []
    for share in (0.0, 1.0, 0.5):  # the three columns, in order
        trees = TreeEnsemble.fit(feats.transform(g), y, TreeSettings(summary_share=share), 1,
                                 genes=feats.gene_columns)
        want.append(f"{rank_metrics(trees.predict(feats.transform(hg))[0], hy)['kendall_tau']:.3f}")
    assert [c.strip() for c in row.split("|")[3:6]] == want

    assert tool.main(["--part", "calibration", "--run", str(run), "--calib-subnets", "6",
                      "--calib-draws", "2"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("- Kendall tau, ")]
    assert len(lines) == 3  # two draws and the whole split, pairwise
    # The whole-split column is the library's evaluation after calib_batches 0.
    from nasx.predictors.accuracy.fit import split_archs

    six = split_archs(trained.space, 1, 100, 0)[1][:6]
    whole = calibration_batches(trained.splits.train, 16, 0, 0, "cpu")
    acc = [e.accuracy for e in evaluate_subnets(trained.net, [(arch_id(a), a) for a in six],
                                                trained.splits.val, whole)]
    draw = calibration_batches(trained.splits.train, 16, 1, trained.cfg.seed, "cpu")
    acc0 = [e.accuracy for e in evaluate_subnets(trained.net, [(arch_id(a), a) for a in six],
                                                 trained.splits.val, draw)]
    tau = rank_metrics(np.array(acc0), np.array(acc))["kendall_tau"]
    first = f"- Kendall tau, 1 x 16, seed {trained.cfg.seed} against whole training split: "
    assert first + f"{tau:.3f}" in lines
