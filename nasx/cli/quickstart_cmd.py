"""``nasx quickstart``: the main job on the embedded default data (JapaneseVowels).

    nasx quickstart [--out runs/quickstart] [--space SPACE] [--data NAME]
                    [--overwrite | --resume] [--archs N]
                    [--config PATH] [--print-config] [key=value ...]

The config resolves as for ``nasx train`` (with ``--resume``: the run's saved config.yaml).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nasx.cli import print_config


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx quickstart``."""
    p = subparsers.add_parser(
        "quickstart", help="train the default supernet and report its subnets",
        description="Train the hybrid-mcu supernet on JapaneseVowels into a run folder (as "
        "nasx train does), then report the largest, the smallest and N random subnets: "
        "parameters, validation and test accuracy after BatchNorm recalibration, and the check "
        "that each extracted static module matches the supernet.")
    from nasx.cli.train_cmd import add_run_arguments

    p.add_argument("--out", type=Path, default=Path("runs/quickstart"), help="run folder")
    p.add_argument("--archs", type=int, default=5, metavar="N", help="random subnets to report")
    add_run_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the quickstart and print its table."""
    from nasx.cli.train_cmd import resolve_train_config
    from nasx.errors import NasxError
    from nasx.quickstart import run_quickstart

    cfg = resolve_train_config(args)
    if args.print_config:
        print_config(cfg)
        return 0
    if args.archs < 0:
        raise NasxError(f"--archs {args.archs}: give a count of at least 0")
    result = run_quickstart(cfg, args.out, overwrite=args.overwrite, resume=args.resume,
                            n_random=args.archs, log=lambda line: print(line, flush=True))
    print(f"\nsupernet: space {cfg.space}, data {cfg.data.name}, trained in "
          f"{result.train_seconds:.0f} s; run folder {result.run_dir}")
    print(f"{'subnet':<10} {'arch id':<13} {'params':>8} {'val acc':>8} {'test acc':>8} "
          f"{'max |diff|':>11}  arch")
    for r in result.reports:
        print(f"{r.name:<10} {r.arch_id:<13} {r.params:>8,} {r.val_accuracy:>8.4f} "
              f"{r.test_accuracy:>8.4f} {r.max_abs_diff:>11.2e}  {r.summary}")
    worst = max(r.max_abs_diff for r in result.reports)
    ok = worst <= 1e-5
    print(f"extracted subnets {'match' if ok else 'DO NOT match'} the supernet on the validation "
          f"split (worst max |diff| {worst:.2e}); {result.seconds:.0f} s in all")
    print(f"tensorboard --logdir {result.run_dir / 'tb'}")
    return 0 if ok else 1
