"""Benchmark the search (issue 5): speed, hypervolume against random search, end to end.

``--part speed``: with the run's fitted accuracy predictor held fixed, time 20,000 evaluations
of the pymoo NSGA-II search on ``--device`` under ``--budgets`` (median of ``--repeats``), with
and without the per-generation hypervolume that ``nasx search`` logs.

``--part hv``: hypervolume (normalised, fixed reference point) at equal evaluation counts over
``--seeds`` seeds: NSGA-II at 2,000, random search at 20,000, optuna's NSGAIISampler at 2,000
(and NSGA-II at 20,000 for scale); medians.

``--part e2e``: for each ``--run`` (copied to ``<run>-bench-search`` first, so the original
keeps its predictor), ``nasx search`` with the ``stm32f746`` and ``host-cpu`` budgets, then the
chosen subnets' test accuracy (BatchNorm recalibrated), their costs, and the mean gap between
predicted and validated accuracy over the validated front subnets.

    .venv/bin/python tools/bench_search.py --part speed --part hv --run runs/jv-search
    .venv/bin/python tools/bench_search.py --part e2e --run runs/jv-search \
        --run runs/osuleaf --host-latency-ms 0.5 --host-latency-ms 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasx.predictors import CostModel, load_device
from nasx.search.budgets import parse_budgets
from nasx.search.hypervolume import hypervolume, reference_point
from nasx.search.nsga import run_nsga2
from nasx.search.objectives import DeviceObjective
from nasx.search.optuna_backend import run_optuna
from nasx.search.random_search import run_random
from nasx.search.repair import GenomeRepair
from nasx.search.task import SearchTask
from nasx.search_spaces import GenomeCodec


def make_task(run_dir: Path, device: str, budgets: str) -> tuple[SearchTask, GenomeRepair, Any]:
    """The search task of ``device`` with the run's saved accuracy predictor (not refitted)."""
    from nasx.predictors.accuracy.fit import load_run_predictor
    from nasx.runs.trained import load_trained_run

    run = load_trained_run(run_dir)
    pred = load_run_predictor(run_dir, run.space)
    if pred is None:
        sys.exit(f"{run_dir} has no fitted accuracy predictor; run nasx predictor fit first")
    profile = load_device(device)
    model = CostModel(run.space, run.splits.channels, run.splits.num_classes,
                      length=run.splits.max_length, device=profile)
    task = SearchTask(pred, DeviceObjective(profile, model),
                      [b for b in parse_budgets(budgets) if b.device == device])
    return task, GenomeRepair(GenomeCodec(run.space)), pred


def part_speed(task: SearchTask, repair: GenomeRepair, repeats: int) -> dict[str, Any]:
    """Median seconds of 20,000 evaluations, plain and with the hypervolume hook."""
    ref = reference_point(task)
    out: dict[str, Any] = {"plain_s": [], "with_hv_s": []}
    for seed in range(repeats):
        start = time.perf_counter()
        run_nsga2(task, repair, n_evals=20_000, pop_size=100, seed=seed)
        out["plain_s"].append(time.perf_counter() - start)
        start = time.perf_counter()
        run_nsga2(task, repair, n_evals=20_000, pop_size=100, seed=seed,
                  on_generation=lambda g, a: hypervolume(a.objectives, a.feasible, ref))
        out["with_hv_s"].append(time.perf_counter() - start)
    start = time.perf_counter()
    g = repair(np.floor(np.random.default_rng(0).random((20_000, repair.codec.length))
                        * (repair.codec.upper + 1)))
    task.evaluate(g)
    out["evaluate_only_s"] = time.perf_counter() - start
    return out


def part_hv(task: SearchTask, repair: GenomeRepair, seeds: int) -> dict[str, list[float]]:
    """Hypervolume per method and seed."""
    ref = reference_point(task)
    out: dict[str, list[float]] = {"nsga2_2000": [], "random_20000": [], "optuna_2000": [],
                                   "nsga2_20000": []}

    def hv(archive: Any) -> float:
        return hypervolume(archive.objectives, archive.feasible, ref)

    for seed in range(seeds):
        out["nsga2_2000"].append(hv(run_nsga2(task, repair, n_evals=2000, pop_size=100,
                                              seed=seed)))
        out["random_20000"].append(hv(run_random(task, repair, n_evals=20_000, seed=seed)))
        out["optuna_2000"].append(hv(run_optuna(task, repair, n_trials=2000, pop_size=100,
                                                seed=seed)))
        out["nsga2_20000"].append(hv(run_nsga2(task, repair, n_evals=20_000, pop_size=100,
                                               seed=seed)))
        print(f"seed {seed}: " + ", ".join(f"{k} {v[-1]:.5f}" for k, v in out.items()),
              flush=True)
    out["reference_point"] = [float(x) for x in ref]
    return out


def part_e2e(run_dir: Path, host_ms: float, evaluations: int, rounds: int = 2,
             seed: int = 0, validate: int = 20) -> dict[str, Any]:
    """``nasx search`` on a copy of ``run_dir``, then test accuracy of each budget's pick."""
    from nasx.runs.trained import load_trained_run
    from nasx.train.evaluate import calibration_batches, evaluate_subnets

    copy = run_dir.parent / f"{run_dir.name}-bench-search"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("tb", "checkpoints", "search",
                                                                 "exports"))
    budgets = f"stm32f746: sram<=256KB, flash<=1MB; host-cpu: latency<={host_ms:g}ms"
    cmd = [sys.executable, "-m", "nasx", "search", "--run", str(copy), "--budgets", budgets,
           "--evaluations", str(evaluations), "--rounds", str(rounds), "--seed", str(seed),
           "--validate", str(validate)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    doc = json.loads((copy / "search" / "pareto.json").read_text())
    run = load_trained_run(copy)
    cfg = run.cfg
    device = next(run.net.parameters()).device
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, device)
    test = run.splits.test.to(device)
    picks = []
    for b in doc["budgets"]:
        if b["best"] is None:
            picks.append({"budget": b["name"], "best": None})
            continue
        s = doc["subnets"][b["best"]]
        (res,) = evaluate_subnets(run.net, [(s["id"], s["arch"])], test, calib)
        picks.append({"budget": b["name"], "id": s["id"], "predicted": s["predicted"],
                      "validated": s["validated"], "test_accuracy": res.accuracy})
    gaps = {}
    for d in {s["device"] for s in doc["subnets"]}:
        v = [s["predicted"]["accuracy"] - s["validated"]["accuracy"]
             for s in doc["subnets"] if s["device"] == d and s["on_front"] and s["validated"]]
        last = [r for r in doc["rounds"] if r["device"] == d][-1]
        floor = last.get("noise_abs_gap")
        unseen = last.get("mean_abs_gap_unseen")
        gaps[d] = {"n": len(v), "unseen": last.get("unseen"),
                   "mean_abs_gap_unseen_points": None if unseen is None else 100 * unseen,
                   "mean_abs_gap_points": 100 * float(np.mean(np.abs(v))) if v else None,
                   "mean_gap_points": 100 * float(np.mean(v)) if v else None,
                   "noise_abs_gap_points": None if floor is None else 100 * floor}
    return {"run": str(run_dir), "copy": str(copy), "budgets": budgets, "wall_s": wall,
            "picks": picks, "front_gap": gaps, "rounds": doc["rounds"],
            "latency_label": doc["settings"]["devices"]}


def main() -> None:
    """Run the chosen parts and print JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", action="append", choices=("speed", "hv", "e2e"), required=True)
    p.add_argument("--run", action="append", type=Path, required=True)
    p.add_argument("--device", default="stm32f746")
    p.add_argument("--budgets", default="stm32f746: sram<=256KB, flash<=1MB")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--host-latency-ms", type=float, action="append", default=[])
    p.add_argument("--evaluations", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=2, help="nasx search --rounds (e2e)")
    p.add_argument("--search-seed", type=int, default=0, help="nasx search --seed (e2e)")
    p.add_argument("--validate", type=int, default=20, help="nasx search --validate (e2e)")
    p.add_argument("--out", type=Path, help="also write the JSON here")
    args = p.parse_args()
    torch.set_num_threads(1)
    result: dict[str, Any] = {}
    if "speed" in args.part or "hv" in args.part:
        task, repair, pred = make_task(args.run[0], args.device, args.budgets)
        result["predictor"] = {"kind": pred.kind, "n_train": pred.info.get("n_train"),
                               "holdout": pred.info.get("holdout")}
        if "speed" in args.part:
            sp = part_speed(task, repair, args.repeats)
            result["speed"] = sp
            print(f"20,000 evaluations: median {statistics.median(sp['plain_s']):.2f} s "
                  f"(with hypervolume per generation {statistics.median(sp['with_hv_s']):.2f} s"
                  f"; evaluation alone {sp['evaluate_only_s']:.2f} s)", flush=True)
        if "hv" in args.part:
            hv = part_hv(task, repair, args.seeds)
            result["hv"] = hv
            print("median hypervolume: " + ", ".join(
                f"{k} {statistics.median(v):.5f}" for k, v in hv.items()
                if k != "reference_point"), flush=True)
    if "e2e" in args.part:
        if len(args.host_latency_ms) != len(args.run):
            sys.exit("give one --host-latency-ms per --run")
        result["e2e"] = [part_e2e(r, ms, args.evaluations, args.rounds, args.search_seed,
                                    args.validate)
                         for r, ms in zip(args.run, args.host_latency_ms, strict=True)]
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
