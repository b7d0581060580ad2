"""A tiny supernet run (``tiny`` preset on JapaneseVowels, a few steps) for tests that need a
trained run folder (predictors, export, faults)."""

from __future__ import annotations

from pathlib import Path

from nasx.cli import main

TINY_TRAIN = ["--space", "tiny", "train.epochs=3", "train.batches_per_epoch=3",
              "data.batch_size=16", "train.calib_batches=1", "train.eval_random=1",
              "train.delay=0", "refit.steps=0"]


def train_tiny_run(run: Path) -> Path:
    """Train the tiny run into ``run`` (a few seconds) and return it."""
    assert main(["train", "--out", str(run), *TINY_TRAIN]) == 0
    return run
