"""Which validation signal ranks subnets by their test accuracy: accuracy, loss or size.

For each finished run folder (a ``nasx quickstart`` or ``nasx train`` + ``nasx predictor``
run), every subnet of ``predictors/accuracy-data.jsonl`` (the predictor's records: random
subnets validated on the validation split) is evaluated on the test split with the supernet's
weights (BatchNorm recalibrated as ``nasx eval`` does). Printed per run: the Spearman rank
correlation of test accuracy with validation accuracy, with minus the validation loss and with
the parameter count, and the spread of test accuracy over the records. Test accuracy is used
for this report only, never for a choice nasx makes.

    python tools/bench_selection.py runs/bench3/*/qs
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr


def score_records(run_dir: Path) -> list[dict[str, Any]]:
    """One row per predictor record: id, val accuracy and loss, test accuracy, params."""
    from nasx.runs.trained import load_trained_run
    from nasx.search_spaces import GenomeCodec
    from nasx.train.evaluate import calibration_batches, evaluate_subnets

    run = load_trained_run(run_dir)
    codec = GenomeCodec(run.space)
    lines = (run_dir / "predictors" / "accuracy-data.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    archs = [(r["id"], codec.decode(r["genome"])) for r in records]
    cfg = run.cfg
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, "cpu")
    evals = evaluate_subnets(run.net, archs, run.splits.test, calib)
    return [{"id": r["id"], "val": r["val_acc"], "val_loss": r["val_loss"], "val_n": r["val_n"],
             "test": e.accuracy,
             "params": sum(p.numel() for p in run.net.extract(a).parameters())}
            for r, (_, a), e in zip(records, archs, evals, strict=True)]


def _rho(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rho, or None where either side is constant."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b)[0])


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rank correlations with test accuracy and the test-accuracy spread of ``rows``."""
    test = np.array([r["test"] for r in rows])
    return {"records": len(rows), "val_n": rows[0]["val_n"],
            "rho_val_acc": _rho(np.array([r["val"] for r in rows]), test),
            "rho_neg_val_loss": _rho(-np.array([r["val_loss"] for r in rows]), test),
            "rho_params": _rho(np.array([r["params"] for r in rows], dtype=float), test),
            "test_min": float(test.min()), "test_median": float(np.median(test)),
            "test_max": float(test.max())}


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def main(argv: list[str] | None = None) -> int:
    """Score each run (``<run>/selection.json``, reused when present) and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    args = p.parse_args(argv)
    print("| run | records | val series | rho(val acc) | rho(-val loss) | rho(params) | "
          "test min / median / max |\n|---|---:|---:|---:|---:|---:|---|")
    for run in args.runs:
        cache = run / "selection.json"
        rows = (json.loads(cache.read_text()) if cache.is_file() else score_records(run))
        cache.write_text(json.dumps(rows))
        s = summarise(rows)
        print(f"| {run} | {s['records']} | {s['val_n']} | {_fmt(s['rho_val_acc'])} | "
              f"{_fmt(s['rho_neg_val_loss'])} | {_fmt(s['rho_params'])} | "
              f"{100 * s['test_min']:.1f} / {100 * s['test_median']:.1f} / "
              f"{100 * s['test_max']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
