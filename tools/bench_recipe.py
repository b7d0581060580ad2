"""A recipe change tried on one subnet trained alone: config variants x seeds, test accuracy.

    python tools/bench_recipe.py --config runs/bench5/PickupGestureWiimoteZ/qs/config.yaml \\
        --arch pick.arch.json --out runs/recipe-pickup --seeds 0,1,2 \\
        --variant base: --variant series:data.normalize=series \\
        --variant crop8:data.augment.crop=0.8

Each variant is ``NAME:KEY=VALUE,KEY=VALUE`` (nothing after the colon: the config as it is).
For each variant and seed, ``nasx train`` trains ``--arch`` alone (``train.arch``) with the
config file, ``seed=<seed>`` and the variant's overrides into ``<out>/<name>-s<seed>`` (a run
folder that already holds final weights is reused, so the script resumes), then the subnet is
scored after the run's BatchNorm recalibration on the validation and the test split. A quick way
to see whether a change of the recipe helps before a whole quickstart: one subnet trained alone
takes one to ten minutes on the suite's data sets. Prints a markdown table (test accuracy per
seed, their mean, the mean validation accuracy and the median wall seconds per run).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nasx.runs import layout
from nasx.runs.trained import load_trained_run
from nasx.train.run_eval import evaluate_run


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``NAME:K=V,K=V`` -> ``(NAME, ["K=V", "K=V"])``."""
    name, sep, rest = text.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected NAME:KEY=VALUE,... "
                                         "(e.g. crop8:data.augment.crop=0.8, or base:)")
    overrides = [kv for kv in rest.split(",") if kv]
    bad = [kv for kv in overrides if "=" not in kv]
    if bad:
        raise argparse.ArgumentTypeError(f"--variant {text!r}: {bad[0]!r} is not KEY=VALUE")
    return name, overrides


def run_variant(config: Path, arch: Path, out: Path, seed: int,
                overrides: list[str]) -> dict[str, float]:
    """Train (or reuse) one run; its test and validation accuracy and wall seconds."""
    start = time.perf_counter()
    if not (out / layout.SUPERNET_FILE).is_file():
        subprocess.run([sys.executable, "-m", "nasx", "train", "--out", str(out), "--overwrite",
                        "--config", str(config), f"train.arch={arch}", f"seed={seed}",
                        *overrides], check=True, stdout=subprocess.DEVNULL)
    run = load_trained_run(out)
    (test,) = evaluate_run(run, ["standalone"], "test")
    (val,) = evaluate_run(run, ["standalone"], "val")
    return {"test": test.accuracy, "val": val.accuracy, "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    """Run every variant and seed, then print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, required=True, help="a resolved run config.yaml")
    p.add_argument("--arch", type=Path, required=True, help="the arch JSON file to train")
    p.add_argument("--out", type=Path, required=True, help="folder for the run folders")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    p.add_argument("--variant", type=parse_variant, action="append", required=True,
                   help="NAME:KEY=VALUE,... (repeat)")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    lines = ["| variant | overrides | " + " | ".join(f"test s{s}" for s in seeds)
             + " | test mean | val mean | s per run |",
             "|---|---|" + "---:|" * (len(seeds) + 3)]
    for name, overrides in args.variant:
        rows = [run_variant(args.config, args.arch, args.out / f"{name}-s{s}", s, overrides)
                for s in seeds]
        tests = [100 * r["test"] for r in rows]
        lines.append(f"| {name} | {' '.join(overrides) or '(none)'} | "
                     + " | ".join(f"{t:.1f}" for t in tests)
                     + f" | **{statistics.fmean(tests):.1f}** | "
                     f"{100 * statistics.fmean(r['val'] for r in rows):.1f} | "
                     f"{statistics.median(r['seconds'] for r in rows):.0f} |")
        print(lines[-1], flush=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
