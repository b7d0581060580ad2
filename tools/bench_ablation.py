"""Training-scheme ablation at equal compute: shrinking schedule and op choice of the sandwich.

    python tools/bench_ablation.py --out runs/ablation --seeds 0 1 2

Variants (everything else at the config defaults, `hybrid-mcu` on JapaneseVowels):
`deps` (the default: delayed ε-shrinking, `op_choice=sample`), `sandwich` (`train.shrink=
sandwich`), `progressive` (`train.shrink=progressive`), `paired` and `first`
(`train.op_choice=...`).

Equal compute: a run's cost is the CPU time of its epochs (``cpu_seconds`` in
``history.json``: one single-threaded process, so on an idle machine this is its wall time; on a
shared machine wall time swings with other jobs while CPU time moves much less). Each variant is
first trained ``--calib-repeats`` times for ``--calib-epochs`` (seed 0, the variants in
alternating order) and its cost per epoch is the minimum over the repeats (CPU time still grows
by up to about 25% when other jobs compete for the cores and caches, so the least disturbed run
is the best estimate); schedules are fractions of the run length, so the cost per epoch of a
short run holds for a long one. A variant then gets
``round(ref_epochs * cost_per_epoch(deps) / cost_per_epoch(variant))`` epochs, the reference
`deps` ``--ref-epochs`` (120, the default config). Every run is evaluated on the test split after
BatchNorm recalibration: its own largest and smallest subnets (as its op choice defines them) and
the same ``--random`` fixed random archs for every variant (drawn once with ``--arch-seed``),
whose median is reported. Finished runs are reused, so the script can be stopped and rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from nasx.runs import atomic_write_text, layout
from nasx.runs.trained import load_trained_run
from nasx.search_spaces import arch_id, load_space, random_arch
from nasx.train.run_eval import evaluate_run

VARIANTS: dict[str, list[str]] = {
    "deps": [],
    "sandwich": ["train.shrink=sandwich"],
    "progressive": ["train.shrink=progressive"],
    "paired": ["train.op_choice=paired"],
    "first": ["train.op_choice=first"],
}
REFERENCE = "deps"


def train(out: Path, args: argparse.Namespace, overrides: list[str]) -> None:
    """``nasx train`` into ``out`` unless it already holds final weights."""
    if (out / layout.SUPERNET_FILE).is_file():
        return
    cmd = [sys.executable, "-m", "nasx", "train", "--space", args.space, "--data", args.data,
           "--out", str(out), "--overwrite", *overrides]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONUNBUFFERED": "1"})


def cost(out: Path) -> dict[str, float]:
    """Epochs, and wall and CPU seconds summed over a run's epochs."""
    history = json.loads((out / layout.HISTORY_FILE).read_text())
    return {"epochs": len(history), "wall_s": sum(h["seconds"] for h in history),
            "cpu_s": sum(h["cpu_seconds"] for h in history)}


def random_arch_files(out: Path, space: str, n: int, seed: int) -> list[str]:
    """``n`` random archs of ``space`` drawn with ``seed``, written once as JSON files."""
    folder = out / "random-archs"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sp = load_space(space)
    paths = []
    for i in range(n):
        arch = random_arch(sp, rng)
        path = folder / f"r{i + 1:02d}.json"
        atomic_write_text(path, json.dumps({"id": arch_id(arch), "arch": arch}) + "\n")
        paths.append(str(path))
    return paths


def evaluate(out: Path, randoms: list[str]) -> dict[str, float]:
    """Test accuracy of the run's largest and smallest and the median of ``randoms``."""
    run = load_trained_run(out)
    res = evaluate_run(run, ["largest", "smallest", *randoms], "test")
    return {"largest": res[0].accuracy, "smallest": res[1].accuracy,
            "random_median": statistics.median(r.accuracy for r in res[2:])}


def matched_epochs(per_epoch: dict[str, float], ref_epochs: int) -> dict[str, int]:
    """Epochs per variant whose cost matches ``ref_epochs`` of :data:`REFERENCE` (at least 1)."""
    budget = ref_epochs * per_epoch[REFERENCE]
    return {name: max(1, round(budget / cost)) for name, cost in per_epoch.items()}


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    """Calibrate, train and evaluate every variant; the results as a JSON-able dict."""
    measured: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for rep in range(args.calib_repeats):
        names = list(VARIANTS) if rep % 2 == 0 else list(reversed(VARIANTS))
        for name in names:
            out = args.out / f"calib-{name}-r{rep + 1}"
            train(out, args, [*VARIANTS[name], "seed=0", f"train.epochs={args.calib_epochs}"])
            measured[name].append(cost(out)["cpu_s"] / args.calib_epochs)
    per_epoch = {name: min(values) for name, values in measured.items()}
    for name, values in measured.items():
        print(f"calibration {name}: {per_epoch[name]:.3f} CPU s per epoch (min of "
              f"{', '.join(f'{v:.3f}' for v in values)})", flush=True)
    epochs = matched_epochs(per_epoch, args.ref_epochs)
    randoms = random_arch_files(args.out, args.space, args.random, args.arch_seed)
    runs = []
    for seed in args.seeds:
        for name, overrides in VARIANTS.items():
            out = args.out / f"{name}-s{seed}"
            start = time.perf_counter()
            train(out, args, [*overrides, f"seed={seed}", f"train.epochs={epochs[name]}"])
            row = {"variant": name, "seed": seed, **cost(out), **evaluate(out, randoms),
                   "process_wall_s": time.perf_counter() - start,
                   "load_average": list(os.getloadavg())}
            runs.append(row)
            print(json.dumps(row), flush=True)
    return {"space": args.space, "data": args.data, "ref_epochs": args.ref_epochs,
            "calib_epochs": args.calib_epochs, "calib_cpu_s_per_epoch": measured,
            "cpu_s_per_epoch": per_epoch, "epochs": epochs,
            "runs": runs}


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.fmean(values):.4f} ({min(values):.4f}-{max(values):.4f})"


def report(res: dict[str, Any]) -> str:
    """A markdown table: per variant, epochs, compute and test accuracies over the seeds."""
    lines = ["| variant | epochs | CPU s per epoch (calibration) | CPU s (median) | "
             "wall s (median) | seeds | test largest | test smallest | test random median |",
             "|---|---:|---:|---:|---:|---:|---|---|---|"]
    for name in VARIANTS:
        rows = [r for r in res["runs"] if r["variant"] == name]
        if not rows:
            continue
        lines.append(
            f"| {name} | {res['epochs'][name]} | {res['cpu_s_per_epoch'][name]:.2f} | "
            f"{statistics.median(r['cpu_s'] for r in rows):.0f} | "
            f"{statistics.median(r['wall_s'] for r in rows):.0f} | {len(rows)} | "
            f"{_spread([r['largest'] for r in rows])} | {_spread([r['smallest'] for r in rows])} | "
            f"{_spread([r['random_median'] for r in rows])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the ablation, print the table (and write --json)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/ablation"))
    p.add_argument("--space", default="hybrid-mcu")
    p.add_argument("--data", default="japanese-vowels")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--ref-epochs", type=int, default=120)
    p.add_argument("--calib-epochs", type=int, default=40)
    p.add_argument("--calib-repeats", type=int, default=3,
                   help="calibration runs per variant, alternating the order; the least "
                        "disturbed (minimum) CPU time counts")
    p.add_argument("--random", type=int, default=20, help="fixed random subnets for the median")
    p.add_argument("--arch-seed", type=int, default=12345)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    res = run_all(args)
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(res, indent=1) + "\n")
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
