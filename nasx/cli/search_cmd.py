"""``nasx search``: Pareto-best subnets of a trained supernet per device, under budgets.

    nasx search --run runs/NAME (--device NAME|PATH ... | --budgets SPEC)
                [--max-latency-ms X] [--max-sram-kb Y] [--max-flash-kb Z]
                [--runtime onnxruntime|torch|pt2]
                [--backend pymoo|optuna] [--storage sqlite:///...] [--evaluations N]
                [--population P] [--rounds R] [--validate K] [--objective sram|flash ...]
                [--mode whole-sequence|streaming] [--pick-se K] [--seed S] [--overwrite]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nasx.cli import int_type, number_type, seed_type
from nasx.runs.layout import SEARCH_HISTORY_FILE, TB_DIR


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx search``."""
    p = subparsers.add_parser(
        "search", help="search a trained supernet for Pareto-best subnets under budgets",
        description="Constrained NSGA-II over the arch genome: per device, predicted error "
        "against predicted latency (optionally SRAM/flash), budgets as constraints, the "
        "front and each budget's best subnet validated for real (BatchNorm recalibrated; "
        "measured latency on host-cpu), the accuracy predictor refitted and the search "
        "repeated. Writes <run>/search/history.csv, <run>/search/pareto.json and "
        "<run>/tb/search/.")
    p.add_argument("--run", type=Path, required=True, help="run folder written by nasx train")
    p.add_argument("--device", action="append", default=[], metavar="NAME|PATH",
                   help="device profile to search for (repeat for several); the --max-* "
                   "limits form its budget")
    p.add_argument("--max-latency-ms", type=number_type, metavar="X", help="latency budget (ms)")
    p.add_argument("--max-sram-kb", type=number_type, metavar="Y",
                   help="SRAM budget (KB = 1024 bytes; peak activations + engine)")
    p.add_argument("--max-flash-kb", type=number_type, metavar="Z",
                   help="flash budget (KB; weights + engine)")
    p.add_argument("--budgets", metavar="SPEC",
                   help="several budgets: 'stm32f746: sram<=256KB, flash<=1MB; host-cpu: "
                   "latency<=2ms' (units ms/us, KB/MB)")
    p.add_argument("--runtime", choices=("onnxruntime", "torch", "pt2"), default=None,
                   help="what the latency of CPU/GPU devices is for: onnxruntime (the exported "
                   "model.onnx), torch (eager) or pt2; it picks the latency predictor "
                   "(latency-<device>-<runtime>.json) and what measures host-cpu candidates "
                   "(default: the device profile's, onnxruntime)")
    p.add_argument("--backend", choices=("pymoo", "optuna"), default="pymoo",
                   help="NSGA-II implementation (default pymoo)")
    p.add_argument("--storage", metavar="URL",
                   help="optuna storage the studies are copied to, for optuna-dashboard: "
                   "sqlite:///runs/NAME/search/optuna.db or journal:runs/NAME/search/optuna.log "
                   "(much faster to write)")
    p.add_argument("--evaluations", type=int_type, default=10_000, metavar="N",
                   help="archs evaluated per device and round (default 10000)")
    p.add_argument("--population", type=int_type, default=100, metavar="P",
                   help="population size (default 100)")
    p.add_argument("--rounds", type=int_type, default=2, metavar="R",
                   help="search / validate / refit rounds (default 2)")
    p.add_argument("--validate", type=int_type, default=20, metavar="K",
                   help="front subnets validated per device and round, spread along the front, "
                   "plus each budget's best (default 20)")
    p.add_argument("--pick-se", type=number_type, default=None, metavar="K",
                   help="a budget's pick is the cheapest validated subnet whose validation loss "
                   "is within K standard errors (paired over the validation sequences) of the "
                   "lowest; 0 picks the lowest loss (default 1: the one-standard-error rule)")
    p.add_argument("--objective", action="append", default=[], choices=("sram", "flash"),
                   help="also minimise SRAM or flash (repeat for both)")
    p.add_argument("--mode", choices=("whole-sequence", "streaming"), default="whole-sequence",
                   help="execution mode for SRAM and latency costs")
    p.add_argument("--seed", type=seed_type, default=0, help="search seed (default 0)")
    p.add_argument("--predictor-samples", type=int_type, default=300, metavar="N",
                   help="training subnets when the accuracy predictor must be fitted")
    p.add_argument("--predictor-holdout", type=int_type, default=100, metavar="H",
                   help="held-out subnets when the accuracy predictor must be fitted")
    p.add_argument("--overwrite", action="store_true",
                   help="make a new search the latest when the run has one (every search "
                   "stays in its numbered folder, search/0001/, 0002/, ...)")
    p.set_defaults(func=run, command_parser=p)


def run(args: argparse.Namespace) -> int:
    """Run ``nasx search``."""
    from nasx.search.api import search_run
    from nasx.search.noise_pick import SE_MULTIPLE
    from nasx.search.runner import SearchSettings

    settings = SearchSettings(
        backend=args.backend, evaluations=args.evaluations, population=args.population,
        seed=args.seed, rounds=args.rounds, validate=args.validate,
        objectives=tuple(dict.fromkeys(args.objective)), mode=args.mode, storage=args.storage,
        predictor_samples=args.predictor_samples, predictor_holdout=args.predictor_holdout,
        pick_se=SE_MULTIPLE if args.pick_se is None else args.pick_se,
        progress=sys.stderr.isatty())
    result = search_run(args.run, settings, devices=args.device, budgets=args.budgets,
                        max_latency_ms=args.max_latency_ms, max_sram_kb=args.max_sram_kb,
                        max_flash_kb=args.max_flash_kb, runtime=args.runtime,
                        overwrite=args.overwrite,
                        log=lambda line: print(line, flush=True))
    print_summary(result.document, result.pareto_path, args.run)
    return 0


def print_summary(doc: dict[str, Any], pareto_path: Path, run_dir: Path) -> None:
    """Print each budget's best subnet, the front sizes, the files and the inspect hint."""
    subnets = doc["subnets"]
    for b in doc["budgets"]:
        if b["best"] is None:
            print(f"{b['name']}: no evaluated subnet meets it")
            continue
        s = subnets[b["best"]]
        p, v = s["predicted"], s["validated"]
        val = "" if v is None else f", validated {100 * v['accuracy']:.2f}%"
        if v is not None and v.get("latency_ms") is not None:
            val += f" and {v['latency_ms']:.4g} ms measured"
        runtime = f" {p['runtime']}" if p.get("runtime") else ""
        print(f"{b['name']}: best {s['id']} (index {s['index']}): predicted "
              f"{100 * p['accuracy']:.2f}%{val}, {p['latency_ms']:.4g} ms "
              f"({p['latency_label']}{runtime}), SRAM {p['sram_kb']:.1f} KB, flash "
              f"{p['flash_kb']:.1f} KB")
        if b.get("pick"):
            print(f"  picked as {b['pick']['rule']}")
    fronts: dict[str, int] = {}
    for s in subnets:
        fronts[s["device"]] = fronts.get(s["device"], 0) + int(s["on_front"])
    print("front sizes: " + ", ".join(f"{d} {n}" for d, n in fronts.items()))
    folder = pareto_path.parent / str(doc.get("search", ""))
    print(f"wrote {folder}/ (pareto.json, history.csv), now the latest: {pareto_path} and "
          f"{pareto_path.parent / SEARCH_HISTORY_FILE}")
    print(f"nasx inspect --run {run_dir}    |    tensorboard --logdir {run_dir / TB_DIR}")
