"""One-shot against standalone: subnets of a trained supernet against the same archs trained alone.

    python tools/bench_standalone.py --run runs/bench-s0 --out runs/standalone-jv
    python tools/bench_standalone.py --run runs/osuleaf --out runs/standalone-osu --only 0 1

Picks 5 subnets spread over the size range of the run's space: the run's largest and smallest
(``archs.json``) and the random archs at the 25/50/75% MACs quantiles of ``--sample`` archs drawn
with a fixed seed (``nasx.search_spaces.random_arch``, analytic MACs at the data's longest
length). Each is trained from scratch with ``nasx train`` and the run's own config plus
``train.arch=<arch.json>`` (standalone training: the same loop, optimizer, schedule, epochs,
augmentation and label smoothing as the supernet's largest subnet, only that subnet, hard labels,
no distillation), timed as a subprocess (wall and CPU seconds). One-shot accuracy is the
supernet's subnet after BatchNorm recalibration, standalone accuracy the standalone run's after
the same recalibration, both on the test split. Prints a markdown table, the mean gap
(standalone minus one-shot, in points) and the compute of each approach: the wall and CPU
seconds of the supernet run's epochs (``history.json``) against the standalone runs' (and their
whole processes' wall/CPU time, start-up included).
An existing standalone run folder with final weights is reused (``--retrain`` trains it again).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from nasx.predictors import CostModel
from nasx.runs import atomic_write_text, layout
from nasx.runs.readers import read_archs
from nasx.runs.trained import TrainedRun, load_trained_run
from nasx.search_spaces import Arch, arch_id, random_arch
from nasx.train.run_eval import evaluate_run

TARGETS = {"japanese-vowels": 1.0, "ucr:OSULeaf": 2.0}
_QUANTILES = (0.25, 0.5, 0.75)


def pick_subnets(run: TrainedRun, sample: int, seed: int) -> list[tuple[str, Arch, int]]:
    """``(name, arch, MACs)``: the run's largest and smallest, then random archs at the MACs
    quantiles of ``sample`` seeded draws, in increasing MACs."""
    cost = CostModel(run.space, run.splits.channels, run.splits.num_classes,
                     length=run.splits.max_length)
    fixed = read_archs(run.run_dir)
    rng = np.random.default_rng(seed)
    drawn = [random_arch(run.space, rng) for _ in range(sample)]
    macs = np.array([cost.cost(a).macs for a in drawn])  # (sample,)
    order = np.argsort(macs, kind="stable")
    picks = [("smallest", fixed["smallest"]["arch"])]
    for q in _QUANTILES:
        i = int(order[round(q * (sample - 1))])
        picks.append((f"q{round(q * 100)}", drawn[i]))
    picks.append(("largest", fixed["largest"]["arch"]))
    return [(name, arch, cost.cost(arch).macs) for name, arch in picks]


def epoch_seconds(run_dir: Path) -> dict[str, float | None]:
    """Sum over a run's epochs of wall seconds and of process CPU seconds (``None`` when the
    history predates ``cpu_seconds``)."""
    history = json.loads((run_dir / layout.HISTORY_FILE).read_text())
    cpu = [h.get("cpu_seconds") for h in history]
    return {"wall": sum(float(h["seconds"]) for h in history),
            "cpu": None if None in cpu else sum(float(c) for c in cpu)}


def train_standalone(run: TrainedRun, arch: Arch, out: Path) -> dict[str, float]:
    """Train ``arch`` alone into ``out`` with the run's config; wall and CPU seconds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    arch_file = out.parent / f"{out.name}.arch.json"
    atomic_write_text(arch_file, json.dumps({"id": arch_id(arch), "arch": arch}) + "\n")
    cmd = [sys.executable, "-m", "nasx", "train", "--config", str(run.run_dir / "config.yaml"),
           "--out", str(out), "--overwrite", f"train.arch={arch_file}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Run the comparison; the rows and totals as a JSON-able dict."""
    run = load_trained_run(args.run)
    picks = pick_subnets(run, args.sample, args.seed)
    rows = []
    for index, (name, arch, macs) in enumerate(picks):
        if args.only is not None and index not in args.only:
            continue
        out = args.out / name
        timing: dict[str, float] = {}
        if args.retrain or not (out / layout.SUPERNET_FILE).is_file():
            timing = train_standalone(run, arch, out)
        arch_file = args.out / f"{name}.arch.json"
        one_shot = evaluate_run(run, [str(arch_file)], "test")[0]
        alone = evaluate_run(load_trained_run(out), ["standalone"], "test")[0]
        rows.append({"name": name, "id": arch_id(arch), "macs": macs,
                     "one_shot": one_shot.accuracy, "standalone": alone.accuracy,
                     "gap_points": 100 * (alone.accuracy - one_shot.accuracy),
                     "epoch_s": epoch_seconds(out), **timing})
        print(json.dumps(rows[-1]), flush=True)
    return {"run": str(args.run), "data": run.cfg.data.name, "space": run.cfg.space,
            "epochs": run.cfg.train.epochs, "supernet_epoch_s": epoch_seconds(args.run),
            "rows": rows, "load_average": list(os.getloadavg())}


def _pair(seconds: dict[str, float | None]) -> str:
    cpu = seconds["cpu"]
    return f"{seconds['wall']:.0f} / " + ("n/a" if cpu is None else f"{cpu:.0f}")


def report(res: dict[str, Any]) -> str:
    """The markdown table and summary lines of :func:`compare`'s result."""
    lines = ["| subnet | arch id | MACs | one-shot test | standalone test | gap (points) | "
             "standalone epochs wall / CPU s | process wall / CPU s |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in res["rows"]:
        proc = f"{r['wall_s']:.0f} / {r['cpu_s']:.0f}" if "wall_s" in r else "(reused)"
        lines.append(f"| {r['name']} | {r['id']} | {r['macs']:,} | {r['one_shot']:.4f} | "
                     f"{r['standalone']:.4f} | {r['gap_points']:+.2f} | "
                     f"{_pair(r['epoch_s'])} | {proc} |")
    gaps = [r["gap_points"] for r in res["rows"]]
    target = TARGETS.get(res["data"])
    mean_gap = statistics.fmean(gaps) if gaps else float("nan")
    verdict = "" if target is None else (
        f" (target <= {target:.1f}: {'met' if mean_gap <= target else 'MISSED'})")
    lines.append("")
    lines.append(f"mean gap (standalone - one-shot): {mean_gap:+.2f} points over "
                 f"{len(gaps)} subnets{verdict}")
    alone = {k: [r["epoch_s"][k] for r in res["rows"]] for k in ("wall", "cpu")}
    total = {k: (None if None in v else sum(v)) for k, v in alone.items()}
    lines.append(f"compute (wall / CPU s of the epochs): supernet {_pair(res['supernet_epoch_s'])}"
                 f" (one run, every subnet); standalone {_pair(total)} for these {len(gaps)} "
                 f"subnets; load average at the end {res['load_average']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse options, compare, print the report (and write --json)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="a finished nasx train run")
    p.add_argument("--out", type=Path, required=True, help="folder for the standalone runs")
    p.add_argument("--sample", type=int, default=500, help="random archs for the MACs quantiles")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", type=int, nargs="+", help="indices (0-4, by MACs) to run")
    p.add_argument("--retrain", action="store_true", help="train existing standalone runs again")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    res = compare(args)
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(res, indent=1) + "\n")
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
