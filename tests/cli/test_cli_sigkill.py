"""SIGKILL in the middle of the predictor dataset build and of a search: the rerun evaluates
nothing twice, and a killed search restarts cleanly (no stale lock, no half-written files)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tiny_run import train_tiny_run

from nasx.cli import main


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("sigkill") / "run")


def _kill_when(cmd: list[str], ready: Callable[[], bool], timeout: float = 120.0) -> None:
    """Start ``nasx cmd``, SIGKILL it as soon as ``ready()`` holds."""
    proc = subprocess.Popen([sys.executable, "-m", "nasx", *cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, "finished before it could be killed"
            assert time.monotonic() < deadline, "never got to the point of the kill"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _records(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _complete_lines(path: Path) -> int:
    return path.read_text().count("\n") if path.is_file() else 0


def test_a_killed_predictor_build_evaluates_nothing_twice(tiny_run: Path, capsys) -> None:
    data = tiny_run / "predictors" / "accuracy-data.jsonl"
    cmd = ["predictor", "fit", "--run", str(tiny_run), "--samples", "30", "--holdout", "10"]
    _kill_when(cmd, lambda: _complete_lines(data) >= 8)
    before = data.read_text()
    done = before[: before.rfind("\n") + 1]  # the complete lines written before the kill
    assert main(cmd) == 0
    capsys.readouterr()
    after = data.read_text()
    assert after.startswith(done)  # nothing written before the kill was lost or rewritten
    ids = [r["id"] for r in _records(data)]
    assert len(ids) == len(set(ids)) == 40  # every subnet evaluated exactly once


def test_a_killed_search_restarts_cleanly(tiny_run: Path, capsys) -> None:
    cmd = ["search", "--run", str(tiny_run), "--budgets", "stm32f746: sram<=256KB",
           "--evaluations", "400", "--population", "20", "--rounds", "2", "--validate", "4",
           "--predictor-samples", "10", "--predictor-holdout", "10"]
    history = tiny_run / "tb" / "search"
    _kill_when(cmd, lambda: history.is_dir() and any(history.rglob("*")))
    pareto = tiny_run / "search" / "pareto.json"
    assert not pareto.exists() or json.loads(pareto.read_text())  # absent, or whole
    assert main(cmd) == 0  # no stale lock, no refusal: the killed search left no outputs
    capsys.readouterr()
    doc = json.loads(pareto.read_text())
    assert doc["budgets"][0]["best"] is not None
