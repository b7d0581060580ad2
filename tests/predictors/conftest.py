"""A tiny trained run for the predictor tests (trained once per test module)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_run import train_tiny_run

from nasx.runs.trained import TrainedRun, load_trained_run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run (``tests/tiny_run.py``), trained into a folder of this test module."""
    return train_tiny_run(tmp_path_factory.mktemp("tiny-run") / "run")


@pytest.fixture
def run(tiny_run: Path, tmp_path: Path) -> TrainedRun:
    """The tiny run loaded, with its run folder (where the dataset file goes) a fresh one per
    test."""
    loaded = load_trained_run(tiny_run)
    return TrainedRun(tmp_path, loaded.cfg, loaded.space, loaded.splits, loaded.net,
                      loaded.weights)
