"""``nasx data``: list the dataset names and show what a dataset looks like after splitting.

    nasx data list [--format table|json]
    nasx data show [NAME] [--val-fraction F] [--seed S] [--format table|json]
                   [--config PATH] [--print-config] [key=value ...]

``show`` resolves the same run config as training does (defaults <- ``--config`` <-
overrides), then applies ``NAME``, ``--val-fraction`` and ``--seed`` on top.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from nasx.cli import OVERRIDE_PATTERN, add_config_arguments, config_from_args, print_config
from nasx.config import RunConfig, validate_config
from nasx.errors import DataError

FORMATS = ("table", "json")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx data`` with its ``list`` and ``show`` subcommands."""
    data = subparsers.add_parser(
        "data", help="list datasets and show their splits", description=__doc__.splitlines()[0]
    )
    data.set_defaults(func=run)
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    listing = commands.add_parser(
        "list", help="dataset names, and the UCR/UEA datasets bundled with aeon"
    )
    listing.add_argument("--format", choices=FORMATS, default="table", help="output format")
    listing.set_defaults(command_parser=listing)

    show = commands.add_parser(
        "show",
        help="classes, split sizes, lengths and class counts of a dataset",
        description="Load a dataset as a run would (val split carved from train, "
        "normalisation fitted on train) and print its summary.",
    )
    show.add_argument("--val-fraction", type=float, metavar="F", help="share of train for val")
    show.add_argument("--seed", type=int, metavar="S", help="seed of the val split")
    show.add_argument("--format", choices=FORMATS, default="table", help="output format")
    add_config_arguments(
        show,
        metavar="NAME | key=value",
        help_text="dataset name (japanese-vowels, ucr:<Name>, npz:<path>, npy:<folder>; "
        "default: the config's data.name) and config overrides, e.g. data.val_fraction=0.1",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``nasx data list`` or ``nasx data show``."""
    if args.data_command == "list":
        return _run_list(args)
    return _run_show(args)


def _run_list(args: argparse.Namespace) -> int:
    from nasx.data import REGISTRY, bundled_classification_names

    bundled = list(bundled_classification_names())
    if args.format == "json":
        entries = [{"name": e.pattern, "description": e.description} for e in REGISTRY]
        print(json.dumps({"registry": entries, "bundled": bundled}, indent=2))
        return 0
    width = max(len(e.pattern) for e in REGISTRY)
    print("dataset names:")
    for entry in REGISTRY:
        print(f"  {entry.pattern:<{width}}  {entry.description}")
    print("bundled with aeon (use as ucr:<Name>):")
    print(f"  {', '.join(bundled) if bundled else '(none found)'}")
    return 0


def _show_config(args: argparse.Namespace) -> RunConfig:
    """The run config with the positional name and the show flags applied on top."""
    names = [t for t in args.overrides if not OVERRIDE_PATTERN.match(t)]
    if len(names) > 1:
        quoted = ", ".join(f"'{n}'" for n in names)
        raise DataError(f"give one dataset name, got {quoted} (overrides are key=value)")
    args.overrides = [t for t in args.overrides if OVERRIDE_PATTERN.match(t)]
    cfg = config_from_args(RunConfig, args)
    data = cfg.data
    if names:
        data = dataclasses.replace(data, name=names[0])
    if args.val_fraction is not None:
        data = dataclasses.replace(data, val_fraction=args.val_fraction)
    seed = cfg.seed if args.seed is None else args.seed
    cfg = dataclasses.replace(cfg, seed=seed, data=data)
    validate_config(cfg)
    return cfg


def _run_show(args: argparse.Namespace) -> int:
    cfg = _show_config(args)
    if args.print_config:
        print_config(cfg)
        return 0
    from nasx.data import load_dataset

    splits = load_dataset(
        cfg.data.name,
        val_fraction=cfg.data.val_fraction,
        val_sample=cfg.data.val_sample,
        seed=cfg.seed,
        normalize=cfg.data.normalize,
    )
    summary = splits.summary()
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary), end="")
    return 0


def _rows(rows: list[list[str]], *, right: bool = True) -> str:
    """Align ``rows`` in columns: the first to the left, the others to the right if ``right``."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        rest = zip(row[1:], widths[1:], strict=True)
        align = str.rjust if right else str.ljust
        cells = [row[0].ljust(widths[0]), *(align(cell, width) for cell, width in rest)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _val_noise(sample: dict[str, Any]) -> str:
    """How many sequences validate, and the standard error of an accuracy measured on them."""
    part = f" (a fixed sample of {sample['of']})" if sample["n"] < sample["of"] else ""
    return (f"{sample['n']} sequences{part}: an accuracy on them has a standard error of up "
            f"to {sample['noise_floor_points']:.2f} points")


def format_summary(summary: dict[str, Any]) -> str:
    """A dataset summary (``DatasetSplits.summary()``) as aligned text tables."""
    splits = summary["splits"]
    classes = summary["classes"]
    normalized = {"channel": "per channel, mean/std of train", "series": "per series",
                  "none": "no"}[summary["normalization"]]
    head = _rows(
        [
            ["dataset", summary["name"]],
            ["channels", str(summary["channels"])],
            ["classes", f"{summary['num_classes']}: {', '.join(classes)}"],
            ["normalized", normalized],
            ["val split", {"stratified": "stratified by class",
                           "group": "whole groups held out"}[summary["val_split"]]],
            ["val noise", _val_noise(summary["val_sample"])],
        ],
        right=False,
    )
    sizes = [["split", "n", "len min", "len median", "len max"]]
    for name, s in splits.items():
        length = s["length"]
        sizes.append(
            [name, str(s["n"]), str(length["min"]), f"{length['median']:g}", str(length["max"])]
        )
    counts = [["class", *splits]]
    for c in classes:
        counts.append([c, *(str(s["class_counts"][c]) for s in splits.values())])
    return "\n".join([head, _rows(sizes), _rows(counts)])
