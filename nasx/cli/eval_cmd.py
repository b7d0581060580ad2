"""``nasx eval``: accuracy and loss of subnets of a trained supernet (BatchNorm recalibrated).

    nasx eval --run runs/NAME [--arch SPEC ...] [--split val|test] [--format table|json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nasx.runs.layout import SUPERNET_FILE

FORMATS = ("table", "json")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx eval``."""
    p = subparsers.add_parser(
        "eval", help="evaluate subnets of a trained supernet",
        description="Evaluate subnets of the supernet trained in a run folder, each after "
        "BatchNorm recalibration on the run's calibration batches. The validation split is "
        "the default; the test split is for final reporting only.")
    p.add_argument("--run", type=Path, required=True, help="run folder written by nasx train")
    p.add_argument("--arch", action="append", metavar="SPEC",
                   help="largest, smallest, random:K, an arch id from the run's archs.json, or "
                   "an arch JSON file, or standalone (the subnet of a run trained with "
                   "train.arch); repeat for several (default: largest and smallest, or "
                   "standalone)")
    p.add_argument("--split", choices=("val", "test"), default="val", help="data split")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format")
    p.set_defaults(func=run, command_parser=p)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print a table or a JSON list (one object per subnet)."""
    import sys

    from nasx.runs.trained import load_trained_run
    from nasx.train.run_eval import evaluate_run

    trained = load_trained_run(args.run)
    standalone = trained.cfg.train.arch is not None  # one subnet trained alone (train.arch)
    specs = args.arch or (["standalone"] if standalone else ["largest", "smallest"])
    results = evaluate_run(trained, specs, args.split)
    if trained.weights != SUPERNET_FILE:
        print(f"nasx eval: using {trained.weights}: the run has not finished", file=sys.stderr)
    if args.format == "json":
        rows = [{**r.as_json(), "split": args.split} for r in results]
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'subnet':<14} {'arch id':<13} {args.split + ' acc':>9} {args.split + ' loss':>9}"
          f" {'n':>5}")
    for r in results:
        print(f"{r.name:<14} {r.arch_id:<13} {r.accuracy:>9.4f} {r.loss:>9.4f} {r.n:>5}")
    return 0
