"""Train the supernet with `nasx train` and report wall time and BN-recalibrated accuracies.

    python tools/bench_train.py                                   # hybrid-mcu on JapaneseVowels
    python tools/bench_train.py --out runs/bench --seeds 0 1 2    # several seeds
    python tools/bench_train.py --eval-only --out runs/bench      # re-evaluate a finished run
    python tools/bench_train.py train.epochs=40 train.shrink=sandwich   # any config override

Times `nasx train` as a subprocess (start-up included), then evaluates the run's largest and
smallest subnets and `--random` (default 20) fixed random subnets on the validation and test
splits, each after BatchNorm recalibration, and prints a markdown table with the median of the
random ones. Targets (issue #3): JapaneseVowels: training <= 180 s; test accuracy largest >= 0.98,
smallest >= 0.94, median random >= 0.96. OSULeaf (`ucr:OSULeaf`): test largest >= 0.90.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nasx.runs.trained import load_trained_run
from nasx.train.run_eval import evaluate_run

TARGETS = {"japanese-vowels": {"largest": 0.98, "smallest": 0.94, "random median": 0.96},
           "ucr:OSULeaf": {"largest": 0.90}}
TIME_TARGET_S = {"japanese-vowels": 180.0}


def train(out: Path, space: str, data: str, overrides: list[str]) -> float:
    """Run `nasx train --overwrite` into ``out``; return its wall time in seconds."""
    cmd = [sys.executable, "-m", "nasx", "train", "--space", space, "--data", data, "--out",
           str(out), "--overwrite", *overrides]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return time.perf_counter() - start


def accuracies(out: Path, n_random: int) -> tuple[str, dict[str, dict[str, float]]]:
    """The run's dataset name and ``{split: {"largest": acc, "smallest": acc, "random median":
    acc, "random min": ...}}``."""
    run = load_trained_run(out)
    specs = ["largest", "smallest", f"random:{n_random}"]
    table = {}
    for split in ("val", "test"):
        res = evaluate_run(run, specs, split)
        randoms = [r.accuracy for r in res[2:]]
        table[split] = {"largest": res[0].accuracy, "smallest": res[1].accuracy,
                        "random median": statistics.median(randoms),
                        "random min": min(randoms), "random max": max(randoms)}
    return run.cfg.data.name, table


def main(argv: list[str] | None = None) -> int:
    """Parse options, train (per seed) and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/bench-train"))
    p.add_argument("--space", default="hybrid-mcu")
    p.add_argument("--data", default="japanese-vowels")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--random", type=int, default=20, help="random subnets for the median")
    p.add_argument("--eval-only", action="store_true", help="evaluate existing runs only")
    p.add_argument("overrides", nargs="*", help="config overrides for nasx train")
    args = p.parse_args(argv)
    print(f"| seed | train s | split | largest | smallest | random median "
          f"(min-max of {args.random}) |")
    print("|---|---|---|---|---|---|")
    missed = []
    for seed in args.seeds:
        out = args.out if len(args.seeds) == 1 else args.out.with_name(f"{args.out.name}-s{seed}")
        seconds = float("nan")
        if not args.eval_only:
            seconds = train(out, args.space, args.data, [f"seed={seed}", *args.overrides])
            limit = TIME_TARGET_S.get(args.data)
            if limit is not None and seconds > limit:
                missed.append(f"seed {seed}: training took {seconds:.0f} s > {limit:.0f}")
        data, table = accuracies(out, args.random)
        for split, acc in table.items():
            print(f"| {seed} | {seconds:.0f} | {split} | {acc['largest']:.4f} | "
                  f"{acc['smallest']:.4f} | {acc['random median']:.4f} "
                  f"({acc['random min']:.4f}-{acc['random max']:.4f}) |", flush=True)
            if split == "test":
                missed += [f"seed {seed}: test {k} {acc[k]:.4f} < {t}"
                           for k, t in TARGETS.get(data, {}).items() if acc[k] < t]
    print("targets missed: " + ("; ".join(missed) if missed else "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
