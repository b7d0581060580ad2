"""``nasx predictor``: fit and show a run's accuracy predictor.

    nasx predictor fit --run runs/NAME [--samples N] [--holdout H] [--seed S]
                       [--model auto|ridge|mlp|trees] [--format table|json]
    nasx predictor show --run runs/NAME [--format table|json]

Under ``torchrun`` every process evaluates a share of the subnets; rank 0 writes, fits and
prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nasx.cli import CliParser, int_type, seed_type
from nasx.runs.layout import SUPERNET_FILE, TB_DIR

FORMATS = ("table", "json")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx predictor fit`` and ``nasx predictor show``."""
    p = subparsers.add_parser(
        "predictor", help="fit or show a run's accuracy predictor",
        description="The accuracy predictor of a trained supernet: validation accuracy from "
        "the arch genome (ridge regression, an MLP ensemble or extremely randomised trees).")
    sub = p.add_subparsers(dest="predictor_command", metavar="ACTION", required=True,
                           parser_class=CliParser)
    fit = sub.add_parser(
        "fit", help="evaluate sampled subnets and fit the predictor",
        description="Evaluate N random training subnets and H held-out subnets of the run's "
        "supernet on its validation split (BatchNorm recalibrated; cached in "
        "<run>/predictors/accuracy-data.jsonl, resumable), fit ridge regression, an MLP "
        "ensemble and extremely randomised trees, keep the one with the best cross-validated "
        "Kendall tau, print Kendall tau, Spearman and RMSE on the held-out subnets and how "
        "precisely the validation split measures them, save it to "
        "<run>/predictors/accuracy/ and a predicted-vs-true scatter to <run>/tb.")
    fit.add_argument("--run", type=Path, required=True, help="run folder written by nasx train")
    fit.add_argument("--samples", type=int_type, default=300, metavar="N",
                     help="random training subnets (>= 10; default 300)")
    fit.add_argument("--holdout", type=int_type, default=100, metavar="H",
                     help="random held-out subnets for the reported scores (>= 10; "
                     "default 100)")
    fit.add_argument("--seed", type=seed_type, default=0,
                     help="seeds the subnet sampling and the fit (default 0)")
    fit.add_argument("--model", choices=("auto", "ridge", "mlp", "trees"), default="auto",
                     help="model family: auto (default) lets 5-fold cross-validation on the "
                     "training subnets choose among all three; a family pins it, also for the "
                     "refits of nasx search")
    fit.add_argument("--format", choices=FORMATS, default="table", help="output format")
    fit.set_defaults(func=run, command_parser=fit)
    show = sub.add_parser("show", help="print the saved predictor's model and scores",
                          description="Print the model, sample counts and held-out scores of "
                          "the accuracy predictor saved in a run folder.")
    show.add_argument("--run", type=Path, required=True, help="run folder written by nasx train")
    show.add_argument("--format", choices=FORMATS, default="table", help="output format")
    show.set_defaults(func=run, command_parser=show)


def run(args: argparse.Namespace) -> int:
    """Run ``nasx predictor fit`` or ``nasx predictor show``."""
    return run_fit(args) if args.predictor_command == "fit" else run_show(args)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def run_fit(args: argparse.Namespace) -> int:
    """Build the dataset (shared across torchrun ranks), fit on rank 0 and print the report."""
    import contextlib

    from nasx.predictors.accuracy.data import data_path, split_sizes_ok
    from nasx.predictors.accuracy.fit import build_run_dataset, fit_run_predictor
    from nasx.predictors.accuracy.predictor import KINDS
    from nasx.runs import run_lock
    from nasx.runs.trained import load_trained_run
    from nasx.train.distributed import Ranks, process_group, rank_device, ranks_from_env

    split_sizes_ok(args.samples, args.holdout)
    trained = load_trained_run(args.run)
    ranks = ranks_from_env()
    device = rank_device(next(trained.net.parameters()).device, ranks)
    trained.net.to(device)
    progress = sys.stderr.isatty()
    lock = run_lock(args.run, "predictor fit") if ranks.main else contextlib.nullcontext()
    with lock, process_group(ranks, device):
        if ranks.distributed:  # share the evaluations; rank 0 then fits from the file
            build_run_dataset(trained, samples=args.samples, holdout=args.holdout,
                              seed=args.seed, progress=progress, ranks=ranks)
        if not ranks.main:
            return 0
        kinds = KINDS if args.model == "auto" else (args.model,)
        _, report = fit_run_predictor(trained, samples=args.samples, holdout=args.holdout,
                                      seed=args.seed, progress=progress, ranks=Ranks(),
                                      kinds=kinds)
    if trained.weights != SUPERNET_FILE:
        print(f"nasx predictor: using {trained.weights}: the run has not finished",
              file=sys.stderr)
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    print(f"dataset: {data_path(args.run)} ({report['n_train']} training + "
          f"{report['n_holdout']} held-out subnets)")
    _print_selection(report["selection"])
    print(f"held-out ({report['n_holdout']} subnets): Kendall tau {_fmt(report['kendall_tau'])}"
          f"  Spearman {_fmt(report['spearman'])}  RMSE {_fmt(report['rmse'], 4)}")
    _print_measurement(report["measurement"])
    print(f"saved: {report['path']}; scatter in TensorBoard: {args.run / TB_DIR} "
          "(run predictors, tag predictor/accuracy)")
    return 0


def _print_selection(selection: dict[str, Any]) -> None:
    print(f"model: {selection['chosen']} (chosen by {selection['folds']}-fold cross-validation "
          "on the training subnets)")
    print(f"  {'candidate':<22} {'cv tau':>7} {'cv rho':>7} {'cv rmse':>8}")
    for c in selection["candidates"]:
        print(f"  {c['model']:<22} {_fmt(c['kendall_tau']):>7} {_fmt(c['spearman']):>7} "
              f"{_fmt(c['rmse'], 4):>8}")


def _print_measurement(measurement: dict[str, Any] | None) -> None:
    """One line on how precisely the validation split measures the held-out accuracies."""
    if measurement is None:
        print("measurement: precision not available (the held-out records carry no "
              "per-sequence correctness, as files from earlier nasx versions, or their "
              "accuracies do not vary; to measure it, move the dataset file aside and fit again)")
        return
    print(f"measurement: accuracy on {measurement['sequences']} validation sequences, "
          f"reliability {measurement['reliability']:.3f} over the {measurement['subnets']} "
          f"held-out subnets (noise {100 * measurement['noise_sd']:.1f} points per subnet); "
          f"measured accuracies rank these subnets by their accuracy on new data with Kendall "
          f"tau about {measurement['tau_expected']:.3f}")


def run_show(args: argparse.Namespace) -> int:
    """Print the saved predictor's model, counts and held-out scores."""
    from nasx.errors import RunError
    from nasx.predictors.accuracy.data import data_path, read_records
    from nasx.predictors.accuracy.fit import load_run_predictor, predictor_dir
    from nasx.runs import layout
    from nasx.search_spaces import load_space

    space_file = args.run / layout.SPACE_FILE
    if not space_file.is_file():
        raise RunError(f"'{args.run}' is not a nasx train run folder (no {layout.SPACE_FILE}); "
                       "give the --out folder of nasx train")
    predictor = load_run_predictor(args.run, load_space(space_file))
    if predictor is None:
        raise RunError(f"no accuracy predictor in '{predictor_dir(args.run)}'; fit one with "
                       f"nasx predictor fit --run {args.run}")
    info = predictor.info
    records = len(read_records(data_path(args.run)))
    if args.format == "json":
        print(json.dumps({"kind": predictor.kind, "path": str(predictor_dir(args.run)),
                          "dataset_records": records, **info}, indent=2))
        return 0
    held = info.get("holdout", {})
    print(f"predictor: {predictor_dir(args.run)} ({predictor.features.size} features)")
    print(f"dataset: {data_path(args.run)} ({records} subnets evaluated)")
    print(f"fitted on {info.get('n_train')} subnets (seed {info.get('seed')}, weights "
          f"{info.get('weights')})")
    _print_selection(info["selection"])
    print(f"held-out ({held.get('n')} subnets): Kendall tau {_fmt(held.get('kendall_tau'))}  "
          f"Spearman {_fmt(held.get('spearman'))}  RMSE {_fmt(held.get('rmse'), 4)}")
    _print_measurement(held.get("measurement"))
    return 0
