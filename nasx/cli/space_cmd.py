"""``nasx space``: list the presets, show a search space, sample archs from it.

    nasx space list [--format table|json]
    nasx space show SPACE [--format table|json|yaml]
    nasx space sample SPACE [--largest | --smallest | --random N] [--seed S]

``SPACE`` is a preset name (``tiny``, ``hybrid-mcu``, ``hybrid-gpu``) or a path to a YAML file.
``sample`` prints one JSON object per line: ``{"id": ..., "arch": {...}}``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from nasx.cli import seed_type

FORMATS = ("table", "json")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx space`` with its ``list``, ``show`` and ``sample`` subcommands."""
    space = subparsers.add_parser("space", help="list, show and sample search spaces",
                                  description=__doc__.splitlines()[0])
    space.set_defaults(func=run)
    commands = space.add_subparsers(dest="space_command", metavar="SUBCOMMAND", required=True)
    listing = commands.add_parser("list", help="the presets shipped with nasx")
    listing.add_argument("--format", choices=FORMATS, default="table", help="output format")
    listing.set_defaults(command_parser=listing)
    show = commands.add_parser("show", help="the choices of a space and its number of subnets")
    show.add_argument("space", metavar="SPACE", help="preset name or path to a YAML file")
    show.add_argument("--format", choices=(*FORMATS, "yaml"), default="table",
                      help="output format (yaml: the validated space, defaults filled in)")
    show.set_defaults(command_parser=show)
    sample = commands.add_parser("sample", help="print archs of a space as JSON lines")
    sample.add_argument("space", metavar="SPACE", help="preset name or path to a YAML file")
    kind = sample.add_mutually_exclusive_group()
    kind.add_argument("--largest", action="store_true", help="the largest subnet")
    kind.add_argument("--smallest", action="store_true", help="the smallest subnet")
    kind.add_argument("--random", type=int, metavar="N", default=1, help="N random subnets")
    sample.add_argument("--seed", type=seed_type, default=0, metavar="S",
                        help="seed of the sampler (also draws the op per slot of largest/smallest)")
    sample.set_defaults(command_parser=sample)


def run(args: argparse.Namespace) -> int:
    """Run the ``nasx space`` subcommand in ``args``."""
    from nasx.search_spaces import load_space

    if args.space_command == "list":
        return _run_list(args.format)
    space = load_space(args.space)
    if args.space_command == "show":
        return _run_show(space, args.format)
    return _run_sample(space, args)


def _run_list(fmt: str) -> int:
    from nasx.search_spaces import GenomeCodec, count_subnets, load_space, preset_names

    rows = []
    for name in preset_names():
        s = load_space(name)
        rows.append({"name": name, "stages": len(s.stages), "genes": GenomeCodec(s).length,
                     "subnets": count_subnets(s)})
    if fmt == "json":
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'preset':<12} {'stages':>6} {'genes':>6} {'subnets':>12}")
    for r in rows:
        print(f"{r['name']:<12} {r['stages']:>6} {r['genes']:>6} {r['subnets']:>12.3g}")
    return 0


def _choices(values: Any) -> str:
    if isinstance(values, bool):
        return str(values).lower()
    return ", ".join(str(v) for v in values) if isinstance(values, list | tuple) else str(values)


def _run_show(space: Any, fmt: str) -> int:
    from nasx.search_spaces import GenomeCodec, count_subnets, dump_space_yaml, space_to_dict

    subnets, genes = count_subnets(space), GenomeCodec(space).length
    if fmt == "yaml":
        print(dump_space_yaml(space), end="")
        return 0
    if fmt == "json":
        print(json.dumps({"name": space.name, "source": space.source, "subnets": subnets,
                          "genome_length": genes, "space": space_to_dict(space)}, indent=2))
        return 0
    d = space_to_dict(space)
    print(f"space {space.name} ({space.source}), causal: {str(space.causal).lower()}")
    print(f"  {'stem':<10}" + " | ".join(f"{k} {_choices(v)}" for k, v in d["stem"].items()))
    for i, st in enumerate(d["stages"]):
        print(f"  {f'stage {i}':<10}" + " | ".join(f"{k} {_choices(v)}" for k, v in st.items()))
    for op, spec in d["ops"].items():
        print(f"  {f'op {op}':<10}" + " | ".join(f"{k} {_choices(v)}" for k, v in spec.items()))
    print(f"  {'quant':<10}" + " | ".join(f"{k} {_choices(v)}" for k, v in d["quant"].items())
          + "  (32 = float)")
    print(f"  {'head':<10}{space.head.pool} pool, dropout {space.head.dropout}")
    if space.op_weights:
        print(f"  {'sampling':<10}op weights " + ", ".join(f"{k} {v:g}"
                                                       for k, v in space.op_weights.items()))
    print(f"  {'genome':<10}{genes} genes")
    print(f"  {'subnets':<10}{subnets:,} ({subnets:.3g})")
    return 0


def _run_sample(space: Any, args: argparse.Namespace) -> int:
    import numpy as np

    from nasx.errors import NasxError
    from nasx.search_spaces import arch_id, largest_arch, random_arch, smallest_arch

    rng = np.random.default_rng(args.seed)
    if args.largest:
        archs = [largest_arch(space, rng)]
    elif args.smallest:
        archs = [smallest_arch(space, rng)]
    else:
        if args.random < 1:
            raise NasxError(f"--random {args.random}: give a count of at least 1")
        archs = [random_arch(space, rng) for _ in range(args.random)]
    for a in archs:
        print(json.dumps({"id": arch_id(a), "arch": a}, sort_keys=True))
    return 0
