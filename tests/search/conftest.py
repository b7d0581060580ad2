"""A tiny trained run with a fitted accuracy predictor, shared by the search CLI tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nasx.cli import main


@pytest.fixture(scope="session")
def searchable_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tiny`` on JapaneseVowels, 1 epoch of 2 steps, predictor fitted on 10 + 10 subnets."""
    from nasx.predictors.accuracy.fit import fit_run_predictor
    from nasx.runs.trained import load_trained_run

    run = tmp_path_factory.mktemp("search-run") / "run"
    assert main(["train", "--space", "tiny", "--out", str(run), "train.epochs=1",
                 "train.batches_per_epoch=2", "data.batch_size=16", "train.calib_batches=1",
                 "train.eval_random=1"]) == 0
    fit_run_predictor(load_trained_run(run), samples=10, holdout=10, seed=0, progress=False)
    return run


@pytest.fixture
def run_copy(searchable_run: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`searchable_run` (tests write into it)."""
    dst = tmp_path / "run"
    shutil.copytree(searchable_run, dst)
    return dst
