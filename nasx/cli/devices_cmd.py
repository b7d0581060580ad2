"""``nasx devices``: list the shipped device profiles, show one (by name or YAML path).

    nasx devices [--format table|json]
    nasx devices show NAME|PATH [--format table|json]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

FORMATS = ("table", "json")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx devices`` (lists the profiles) with its ``show`` subcommand."""
    devices = subparsers.add_parser("devices", help="list and show device profiles",
                                    description=__doc__.splitlines()[0])
    devices.add_argument("--format", choices=FORMATS, default="table", help="output format")
    devices.set_defaults(func=run, command_parser=devices, devices_command=None)
    commands = devices.add_subparsers(dest="devices_command", metavar="SUBCOMMAND")
    show = commands.add_parser("show", help="every field of one profile, with its provenance")
    show.add_argument("device", metavar="NAME|PATH", help="shipped profile name or a YAML file")
    show.add_argument("--format", choices=FORMATS, default="table", help="output format")
    show.set_defaults(command_parser=show)


def run(args: argparse.Namespace) -> int:
    """Run ``nasx devices`` or ``nasx devices show``."""
    from nasx.predictors import device_names, load_device, profile_to_dict

    if args.devices_command == "show":
        profile = load_device(args.device)
        if args.format == "json":
            print(json.dumps({"source": profile.source, **profile_to_dict(profile)}, indent=2))
        else:
            _print_profile(profile)
        return 0
    profiles = [load_device(n) for n in device_names()]
    if args.format == "json":
        print(json.dumps([_summary(p) for p in profiles], indent=2))
        return 0
    print(f"{'device':<17} {'class':<5} {'clock MHz':>9} {'SRAM KiB':>9} {'flash KiB':>9} "
          f"{'int8 GMAC/s':>11} {'fp32 GMAC/s':>11}  latency")
    for p in profiles:
        s = _summary(p)
        sram = f"{s['activation_sram_bytes'] / 1024:.0f}" if s["activation_sram_bytes"] else "-"
        flash = f"{p.flash_bytes / 1024:.0f}" if p.flash_bytes else "-"
        print(f"{p.name:<17} {p.device_class:<5} {p.clock_hz / 1e6:>9.0f} {sram:>9} {flash:>9} "
              f"{p.peak_of('int8') / 1e9:>11.3g} {p.peak_of('fp32') / 1e9:>11.3g}  "
              f"{s['latency']}")
    return 0


def _summary(p: Any) -> dict[str, Any]:
    from nasx.predictors import latency_label

    return {"name": p.name, "class": p.device_class, "clock_hz": p.clock_hz,
            "activation_sram_bytes": p.activation_sram_bytes, "flash_bytes": p.flash_bytes,
            "dram_bytes": p.dram_bytes, "peak_macs_per_s": dict(p.peak_macs_per_s),
            "latency": latency_label(p), "runtime": p.runtime, "batch": p.batch,
            "description": p.description}


def _print_profile(p: Any) -> None:
    from nasx.predictors import latency_label

    print(f"device {p.name}: {p.description}")
    print(f"  {'file':<16}{p.source}")
    print(f"  {'class':<16}{p.device_class} (latency: {latency_label(p)})")
    print(f"  {'runtime':<16}{p.runtime}, batch {p.batch} (what its latency is for)")
    print(f"  {'clock':<16}{p.clock_hz / 1e6:g} MHz")
    for r in p.sram:
        mark = "  <- activations" if r.name == p.activation_region else ""
        label = f"sram {r.name}"
        print(f"  {label:<16}{r.bytes:,} B{mark}" if len(label) < 16 else
              f"  {label}\n  {'':<16}{r.bytes:,} B{mark}")  # a long region name: own line
    no_budget = "" if p.flash_bytes else "  (no flash budget)"
    print(f"  {'flash':<16}{p.flash_bytes:,} B{no_budget}")
    print(f"  {'dram':<16}{p.dram_bytes:,} B")
    print(f"  {'bandwidth':<16}{p.bandwidth_bytes_per_s / 1e9:g} GB/s")
    print(f"  {'peak':<16}" + ", ".join(f"{k} {v / 1e9:g} GMAC/s"
                                         for k, v in p.peak_macs_per_s.items()))
    unit = "MACs/cycle" if p.is_mcu else "fraction of peak"
    print(f"  efficiency ({unit}; norm/pool: elements)")
    for op, row in p.efficiency.items():
        print(f"    {op:<14}" + ", ".join(f"{k} {v:g}" for k, v in row.items()))
    print(f"  {'engine':<16}flash {p.engine_flash_bytes:,} B, SRAM {p.engine_sram_bytes:,} B, "
          f"{p.per_op_s * 1e6:g} us per op")
    print(f"  {'weight bits':<16}" + "; ".join(f"{op} {', '.join(map(str, b))}"
                                               for op, b in p.weight_bits.items()))
    print(f"  {'act bits':<16}{', '.join(map(str, p.act_bits))}")
    print(f"  {'provenance':<16}{p.provenance}")
