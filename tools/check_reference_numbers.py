"""Reference numbers of short, seeded runs on the bundled data sets, recorded and re-checked.

    python tools/check_reference_numbers.py --record tests/golden/reference_numbers.json
    python tools/check_reference_numbers.py --check tests/golden/reference_numbers.json
    python tools/check_reference_numbers.py --check tests/golden/reference_numbers.json \
        --only japanese-vowels

For each data set (JapaneseVowels, OSULeaf) trains a short run with the data-aware recipe
(seed 0, a few epochs, ``train.threads=1``), then evaluates the largest, the smallest and 3 fixed
random subnets on the validation and the test split (BatchNorm recalibrated as the run says,
``calib_batches`` from the recipe: the whole training split for both) and records every
accuracy and loss with all digits, the normalisation statistics and the data fingerprint.
``--check`` trains again and compares: every number must be equal (exit status 1 and the
differences otherwise). Recorded before a change to data loading, BatchNorm calibration or
evaluation, it shows the change leaves existing results exactly as they were.

Digit-exact numbers hold on one kind of CPU only: another CPU's vector kernels (e.g. with or
without AVX-512) round the forward passes differently, and a few epochs of training carry that
into every figure. The record therefore names its CPU (``cpu``: model and vector extensions);
``--check`` on another CPU says so first (record again on this machine, before the change,
to compare).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from machine import cpu_kind

from nasx.cli import main as nasx_main
from nasx.runs.trained import load_trained_run
from nasx.train.run_eval import evaluate_run

RUNS: dict[str, list[str]] = {
    "japanese-vowels": ["--data", "japanese-vowels", "train.epochs=3", "train.threads=1"],
    # the window crop the recipe gives long series is pinned off: the record checks data
    # loading, calibration and evaluation, and stays valid through changes of augmentation
    "ucr:OSULeaf": ["--data", "ucr:OSULeaf", "train.epochs=2", "train.threads=1",
                    "data.augment.crop=1"],
}
SPECS = ["largest", "smallest", "random:3"]


def reference_numbers(name: str, workdir: Path) -> dict[str, Any]:
    """Train the short run of data set ``name`` in ``workdir`` and return its numbers."""
    run_dir = workdir / name.replace(":", "_")
    if nasx_main(["train", "--out", str(run_dir), *RUNS[name]]) != 0:
        raise SystemExit(f"nasx train failed for {name}")
    run = load_trained_run(run_dir)
    out: dict[str, Any] = {
        "normalization": run.splits.normalization,
        "mean": run.splits.mean.tolist(),
        "std": run.splits.std.tolist(),
        "fingerprint": run.splits.fingerprint["all"],
        "calib_batches": run.cfg.train.calib_batches,
    }
    for split in ("val", "test"):
        for ev in evaluate_run(run, SPECS, split):
            out[f"{split}/{ev.name}"] = {"id": ev.arch_id, "accuracy": ev.accuracy,
                                        "loss": ev.loss, "n": ev.n}
    return out


def _differences(want: Any, got: Any, path: str = "") -> list[str]:
    if isinstance(want, dict) and isinstance(got, dict):
        keys = sorted(set(want) | set(got))
        return [d for k in keys for d in _differences(want.get(k), got.get(k), f"{path}/{k}")]
    return [] if want == got else [f"{path}: recorded {want!r}, now {got!r}"]


def main(argv: list[str] | None = None) -> int:
    """Record or check the reference numbers; 0 when they match (or were recorded)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--record", type=Path, help="write the numbers to this JSON file")
    mode.add_argument("--check", type=Path, help="compare against this JSON file")
    ap.add_argument("--only", nargs="*", default=list(RUNS), choices=list(RUNS))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        numbers = {name: reference_numbers(name, Path(tmp)) for name in args.only}
    if args.record:
        args.record.write_text(json.dumps({"cpu": cpu_kind(), **numbers}, indent=1) + "\n")
        print(f"recorded {', '.join(numbers)} into {args.record}")
        return 0
    recorded = json.loads(args.check.read_text())
    if recorded.get("cpu") != cpu_kind():
        print(f"note: recorded on {recorded.get('cpu', 'an unnamed CPU')}, checked on "
              f"{cpu_kind()}: digits differ across CPU kinds; record again on this machine "
              "before the change to compare")
    diffs = _differences({k: recorded[k] for k in args.only}, numbers)
    for d in diffs:
        print(d)
    print(f"{len(diffs)} differences from {args.check} ({', '.join(args.only)})")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
