"""``history.json`` entries of a training run, and the line printed for each."""

from __future__ import annotations

import statistics
from typing import Any

from nasx.train.evaluate import SubnetEval


def history_entry(epoch: int, step: int, losses: list[float], skipped: int,
                  evals: list[SubnetEval], seconds: float, cpu_seconds: float) -> dict[str, Any]:
    """One ``history.json`` entry: the evaluation after ``epoch``; ``seconds`` and
    ``cpu_seconds`` cover the epochs since the previous entry (``train.eval_every``)."""
    # cpu_seconds: this process's CPU time (all its threads), a steadier measure of compute
    # than wall time on a shared machine
    return {"epoch": epoch, "step": step, "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu_seconds, 3),
            "loss_largest": statistics.fmean(losses) if losses else None,
            "skipped_steps": skipped, "val": [e.as_json() for e in evals]}


def final_evals(history: list[dict[str, Any]]) -> list[SubnetEval]:
    """The evaluations of the last ``history.json`` entry (none for an empty history)."""
    if not history:
        return []
    return [SubnetEval(v["name"], v["id"], v["accuracy"], v["loss"], v["n"])
            for v in history[-1]["val"]]


def epoch_line(entry: dict[str, Any], epochs: int) -> str:
    """The line ``nasx train`` prints for a history entry."""
    val = {v["name"]: v["accuracy"] for v in entry["val"]}
    randoms = [a for n, a in val.items() if n.startswith("random-")]
    parts = [f"epoch {entry['epoch']}/{epochs}", f"step {entry['step']}"]
    if entry["loss_largest"] is not None:
        parts.append(f"loss {entry['loss_largest']:.4f}")
    parts.append("val acc " + " ".join(f"{name} {acc:.4f}" for name, acc in val.items()
                                       if not name.startswith("random-")))
    if randoms:
        parts.append(f"random median {statistics.median(randoms):.4f}")
    parts.append(f"{entry['seconds']:.1f} s")
    return "  ".join(parts)
