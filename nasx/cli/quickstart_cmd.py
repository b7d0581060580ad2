"""``nasx quickstart``: the main job on the embedded default data (JapaneseVowels).

    nasx quickstart [--out runs/quickstart] [--overwrite | --resume] [--archs N]
                    [--config PATH] [--print-config] [key=value ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nasx.cli import add_config_arguments, config_from_args, print_config


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx quickstart``."""
    p = subparsers.add_parser(
        "quickstart", help="build the supernet on the default data and check its subnets",
        description="Build the hybrid-mcu supernet for JapaneseVowels into a run folder, then "
        "extract the largest, the smallest and N random subnets and check each against the "
        "supernet on the validation split.")
    p.add_argument("--out", type=Path, default=Path("runs/quickstart"), help="run folder")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    group.add_argument("--resume", action="store_true", help="reuse an existing run folder")
    p.add_argument("--archs", type=int, default=5, metavar="N", help="random subnets to check")
    add_config_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the quickstart and print its table."""
    from nasx.config import RunConfig
    from nasx.errors import NasxError
    from nasx.quickstart import run_quickstart

    cfg = config_from_args(RunConfig, args)
    if args.print_config:
        print_config(cfg)
        return 0
    if args.archs < 0:
        raise NasxError(f"--archs {args.archs}: give a count of at least 0")
    result = run_quickstart(cfg, args.out, overwrite=args.overwrite, resume=args.resume,
                            n_random=args.archs)
    print(f"run folder: {result.run_dir}  (config.yaml, space.yaml, supernet.safetensors)")
    print(f"supernet: space {cfg.space}, data {cfg.data.name}, "
          f"{result.supernet_params:,} parameters")
    print(f"{'subnet':<10} {'arch id':<13} {'params':>8} {'max |diff|':>11}  arch")
    for c in result.checks:
        print(f"{c.kind:<10} {c.arch_id:<13} {c.params:>8,} {c.max_abs_diff:>11.2e}  {c.summary}")
    worst = max(c.max_abs_diff for c in result.checks)
    ok = worst <= 1e-5
    print(f"extracted subnets {'match' if ok else 'DO NOT match'} the supernet on the validation "
          f"split (worst max |diff| {worst:.2e}); {result.seconds:.1f} s")
    return 0 if ok else 1
