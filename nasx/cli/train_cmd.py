"""``nasx train``: train a supernet with the sandwich rule, in-place distillation and DεpS.

    nasx train --out runs/NAME [--space SPACE] [--data NAME] [--overwrite | --resume]
               [--config PATH] [--print-config] [key=value ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nasx.cli import add_config_arguments, print_config
from nasx.runs import CONFIG_FILE

if TYPE_CHECKING:
    from nasx.config import RunConfig


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx train``."""
    p = subparsers.add_parser(
        "train", help="train a weight-sharing supernet (sandwich rule + DεpS)",
        description="Train the supernet of a search space on a dataset into a run folder: "
        "sandwich rule with in-place distillation and delayed ε-shrinking, BatchNorm-"
        "recalibrated validation of the largest, smallest and fixed random subnets every epoch, "
        "TensorBoard scalars in <out>/tb, an atomic checkpoint every epoch.")
    p.add_argument("--out", type=Path, required=True, help="run folder, e.g. runs/jv")
    add_run_arguments(p)
    p.set_defaults(func=run)


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """``--space``, ``--data``, ``--overwrite | --resume`` and the config options of a command
    that trains into a run folder (read back by :func:`resolve_train_config`)."""
    p.add_argument("--space", metavar="SPACE",
                   help="preset name or search-space YAML path (config key 'space')")
    p.add_argument("--data", metavar="NAME", help="dataset (config key 'data.name')")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    group.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its last checkpoint (or reuse it "
                       "when finished), with its saved config (overrides may change only "
                       "train.device)")
    add_config_arguments(p)


def resolve_train_config(args: argparse.Namespace) -> RunConfig:
    """The run config: defaults (or, with ``--resume``, the run's saved config.yaml) <-
    ``--config`` <- ``--space``/``--data`` <- ``key=value`` overrides, with every ``auto`` value
    decided from the data (:func:`nasx.recipe.resolve_recipe`)."""
    from nasx.config import RunConfig, load_config
    from nasx.errors import RunError

    overrides = list(args.overrides)
    if args.data is not None:
        overrides.insert(0, f"data.name={args.data}")
    if args.space is not None:
        overrides.insert(0, f"space={args.space}")
    base = args.config
    saved = args.out / CONFIG_FILE
    if args.resume and saved.is_file():
        if args.config is not None:
            raise RunError("--resume uses the run's saved config.yaml; drop --config")
        base = saved
    from nasx.recipe import resolve_recipe

    return resolve_recipe(load_config(RunConfig, base, overrides))


def run(args: argparse.Namespace) -> int:
    """Train and print one line per epoch and a final table (rank 0 only under torchrun)."""
    from nasx.train import train_supernet
    from nasx.train.distributed import ranks_from_env

    cfg = resolve_train_config(args)
    if args.print_config:
        print_config(cfg)
        return 0
    result = train_supernet(cfg, args.out, overwrite=args.overwrite, resume=args.resume,
                            log=lambda line: print(line, flush=True),
                            progress=sys.stderr.isatty())
    if not ranks_from_env().main:  # under torchrun only rank 0 prints
        return 0
    if result.start_epoch == result.epochs and result.start_epoch > 0:
        print(f"run {result.run_dir} had already finished its {result.epochs} epochs")
    print(f"{'subnet':<10} {'arch id':<13} {'val acc':>8} {'val loss':>9}")
    for e in result.final:
        print(f"{e.name:<10} {e.arch_id:<13} {e.accuracy:>8.4f} {e.loss:>9.4f}")
    print(f"run folder: {result.run_dir} (supernet.safetensors, checkpoints/, tb/); "
          f"{result.epochs} epochs, {result.steps} steps, {result.seconds:.1f} s")
    return 0
