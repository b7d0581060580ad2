"""The ``nasx`` command line.

Each command lives in a module ``nasx/cli/<name>_cmd.py`` listed in :data:`COMMAND_MODULES`.
A command module exposes ``add_parser(subparsers) -> None``, which adds its parser and sets
``func=run``, and ``run(args) -> int``. Command modules import heavy libraries (torch, aeon)
inside ``run`` so that ``nasx --help`` stays fast.

A parser that sets the default ``command_parser=<itself>`` (``add_config_arguments`` does)
gets unrecognized-argument errors under its own name (``nasx data show: error: ...``).

Errors: a :class:`nasx.errors.NasxError` prints ``nasx: error: <message>`` on stderr and
exits 2; an argparse usage error prints ``nasx <cmd>: error: <message>`` on one line and
exits 2. Neither prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TypeVar

from nasx import __version__
from nasx.config import dump_config, load_config
from nasx.errors import NasxError

T = TypeVar("T")

# One line per command module; each adds its own subcommand.
COMMAND_MODULES: list[str] = [
    "nasx.cli.data_cmd",
    "nasx.cli.space_cmd",
    "nasx.cli.quickstart_cmd",
    "nasx.cli.train_cmd",
    "nasx.cli.eval_cmd",
    "nasx.cli.devices_cmd",
    "nasx.cli.cost_cmd",
    "nasx.cli.export_cmd",
    "nasx.cli.predictor_cmd",
    "nasx.cli.search_cmd",
    "nasx.cli.inspect_cmd",
    "nasx.cli.profile_cmd",
]

OVERRIDE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*=")


class CliParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>; see '<prog> --help'`` and exit 2."""
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text}; see '{self.prog} --help'\n")


def add_config_arguments(
    parser: argparse.ArgumentParser,
    *,
    metavar: str = "key=value",
    help_text: str = "config overrides with dotted keys, e.g. seed=1 data.val_fraction=0.1",
) -> None:
    """Add ``--config PATH``, ``--print-config`` and trailing ``key=value`` overrides.

    Overrides land in ``args.overrides`` (a list, also collecting ``key=value`` words that
    follow other options); read them with :func:`config_from_args`.
    """
    parser.add_argument("--config", metavar="PATH", help="YAML config file (defaults otherwise)")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config as YAML and exit"
    )
    parser.add_argument("overrides", nargs="*", metavar=metavar, help=help_text)
    parser.set_defaults(command_parser=parser)


def seed_type(text: str) -> int:
    """argparse type of a ``--seed`` option: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: give an integer >= 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: give an integer >= 0")
    return value


def int_type(text: str) -> int:
    """argparse type of a count or size option: an integer (ranges are checked by the command)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}: give an integer") from None


def number_type(text: str) -> float:
    """argparse type of a limit option: a number."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: give a number") from None


def config_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """The ``cls`` config from ``args.config`` and ``args.overrides`` (see ``load_config``)."""
    return load_config(cls, args.config, args.overrides)


def print_config(cfg: Any) -> None:
    """Write ``cfg`` as YAML on stdout (for ``--print-config``)."""
    sys.stdout.write(dump_config(cfg))


def build_parser() -> CliParser:
    """The ``nasx`` parser with every command in :data:`COMMAND_MODULES`."""
    parser = CliParser(
        prog="nasx",
        description="One-shot neural architecture search for hybrid sequence models.",
    )
    parser.add_argument("--version", action="version", version=f"nasx {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def _parse(parser: CliParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; ``key=value`` words after other options join ``args.overrides``."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        target = getattr(args, "command_parser", parser)
        if hasattr(args, "overrides") and not any(e.startswith("-") for e in extras):
            args.overrides = [*args.overrides, *extras]
        else:
            target.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def resume_hint(args: argparse.Namespace, argv: Sequence[str] | None) -> str:
    """How to continue an interrupted command."""
    words = [w for w in (sys.argv[1:] if argv is None else argv) if w != "--overwrite"]
    action = getattr(args, "predictor_command", None)
    command = args.command + (f" {action}" if action else "")
    if command in ("train", "quickstart"):
        again = " ".join(shlex.quote(w) for w in words + (
            [] if "--resume" in words else ["--resume"]))
        return f"continue from the last checkpoint with: nasx {again}"
    if command in ("predictor fit", "profile"):
        return "run the same command again: what was measured is kept and reused"
    if command in ("search", "export"):
        return "nothing was written; run the same command again"
    return "run the same command again"


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nasx`` with ``argv`` (``sys.argv[1:]`` when ``None``) and return the exit status."""
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except SystemExit as stop:  # --help, --version and usage errors
        if stop.code is None:
            return 0
        return stop.code if isinstance(stop.code, int) else 2
    try:
        return int(args.func(args))
    except NasxError as err:
        print(f"nasx: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nasx: interrupted; {resume_hint(args, argv)}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `nasx space sample ... | head -1`: the reader is gone
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush stays quiet
        return 0
