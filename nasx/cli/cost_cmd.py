"""``nasx cost``: the analytic cost of one arch on one device (no torch run).

    nasx cost --space SPACE --arch ARCH.json|largest|smallest --device NAME|PATH
              [--length L] [--mode whole-sequence|streaming] [--channels C] [--classes K]
              [--seed S] [--format table|json] [--steps]

MACs, params, flash (weights at their bits + scales + biases + engine), peak SRAM (tensor
liveness over the deployment schedule) and latency (analytic on an MCU, a roofline estimate
elsewhere). Channels, classes and length default to JapaneseVowels' (12, 9, 29).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from nasx.cli import seed_type


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx cost``."""
    cost = subparsers.add_parser("cost", help="analytic cost of an arch on a device",
                                 description=__doc__.splitlines()[0])
    cost.add_argument("--space", required=True, help="preset name or path to a YAML file")
    cost.add_argument("--arch", required=True, metavar="ARCH",
                      help="arch JSON file (as `nasx space sample` prints, or a bare arch), "
                           "'largest' or 'smallest'")
    cost.add_argument("--device", required=True, metavar="NAME|PATH",
                      help="device profile name (see `nasx devices`) or a YAML file")
    cost.add_argument("--length", type=int, default=29, metavar="L", help="sequence length")
    cost.add_argument("--mode", choices=("whole-sequence", "streaming"), default="whole-sequence",
                      help="whole sequence at once, or one frame at a time with persistent state")
    cost.add_argument("--channels", type=int, default=12, metavar="C", help="input channels")
    cost.add_argument("--classes", type=int, default=9, metavar="K", help="number of classes")
    cost.add_argument("--seed", type=seed_type, default=0, metavar="S",
                      help="draws the op per slot of largest/smallest (as `nasx space sample`)")
    cost.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    cost.add_argument("--steps", action="store_true", help="also print every deployment step")
    cost.set_defaults(func=run, command_parser=cost)


def _load_arch(space: Any, spec: str, seed: int) -> dict[str, Any]:
    import numpy as np

    from nasx.errors import ArchError
    from nasx.search_spaces import largest_arch, load_arch, smallest_arch

    if spec in ("largest", "smallest"):
        pick = largest_arch if spec == "largest" else smallest_arch
        return pick(space, np.random.default_rng(seed))
    if not Path(spec).exists():
        raise ArchError(f"{spec}: arch file not found (or give 'largest' / 'smallest')")
    return load_arch(space, spec)


def run(args: argparse.Namespace) -> int:
    """Run ``nasx cost``."""
    from nasx.errors import NasxError
    from nasx.predictors import CostModel, load_device
    from nasx.search_spaces import arch_id, describe_arch, load_space

    for flag, value in (("--length", args.length), ("--channels", args.channels),
                        ("--classes", args.classes)):
        if value < 1:
            raise NasxError(f"{flag} {value}: give a positive integer")
    space = load_space(args.space)
    device = load_device(args.device)
    arch = _load_arch(space, args.arch, args.seed)
    model = CostModel(space, args.channels, args.classes, length=args.length, mode=args.mode,
                      device=device)
    c = model.cost(arch)
    budget_sram, budget_flash = device.activation_sram_bytes, device.flash_bytes
    if args.format == "json":
        out = {"id": arch_id(arch), "arch": arch, "device": device.name, "mode": c.mode,
               "length": c.length, "channels": args.channels, "classes": args.classes,
               "macs": c.macs, "params": c.params, "weight_bytes": c.weight_bytes,
               "flash_bytes": c.flash_bytes, "peak_sram_bytes": c.peak_sram_bytes,
               "sram_bytes": c.sram_bytes, "latency_s": c.latency_s,
               "latency_kind": c.latency_label, "bits_supported": c.supported,
               "device_sram_bytes": budget_sram, "device_flash_bytes": budget_flash}
        if args.steps:
            out["steps"] = [vars(s) | {"live_bytes": s.live_bytes} for s in model.schedule(arch)]
        print(json.dumps(out, indent=2))
        return 0
    print(f"arch {arch_id(arch)}: {describe_arch(arch)}")
    print(f"device {device.name} ({device.device_class}), {c.mode}, length {c.length}, "
          f"{args.channels} channels, {args.classes} classes")
    print(f"  {'MACs':<11}{c.macs:,}" + ("  (one frame, every layer)" if c.mode == "streaming"
                                         else ""))
    print(f"  {'params':<11}{c.params:,}")
    print(f"  {'flash':<11}{c.flash_bytes:,} B (weights {c.weight_bytes:,} + engine "
          f"{device.engine_flash_bytes:,})" + _share(c.flash_bytes, budget_flash))
    print(f"  {'peak SRAM':<11}{c.peak_sram_bytes:,} B (+ engine {device.engine_sram_bytes:,} = "
          f"{c.sram_bytes:,})" + _share(c.sram_bytes, budget_sram))
    what = ("analytic: MACs / (efficiency x clock) + per-op overhead" if device.is_mcu
            else "roofline ESTIMATE, not measured")
    print(f"  {'latency':<11}{c.latency_s * 1e3:.4g} ms ({what})")
    if not c.supported:
        layers = unsupported_layers(model.schedule(arch), device)
        print(f"  {'bits':<11}{device.name} does not run " + ("; ".join(layers) or
              f"some activation bit-widths (it runs {_bits(device.act_bits)})") +
              f" (see `nasx devices show {device.name}`)")
    if args.steps:
        _print_steps(model.schedule(arch))
    return 0


def _bits(bits: Any) -> str:
    return ", ".join(map(str, bits))


def unsupported_layers(steps: list[Any], device: Any) -> list[str]:
    """``"<layer>: <op> weights at <b> bits (it runs <allowed>)"`` for each step of the
    schedule whose weight bit-width ``device`` does not run."""
    out = []
    for s in steps:
        allowed = device.weight_bits.get(s.op_class)
        if s.params and allowed is not None and s.wbits not in allowed:
            out.append(f"{s.name}: {s.op_class} weights at {s.wbits} bits (it runs "
                       f"{_bits(allowed)})")
    return out


def _share(used: int, budget: int) -> str:
    return f" of {budget:,} ({100 * used / budget:.1f}%)" if budget else ""


def _print_steps(steps: list[Any]) -> None:
    print(f"  {'step':<30} {'class':<9} {'dtype':<5} {'MACs':>10} {'live B':>8} "
          f"{'state B':>8} {'flash B':>8}")
    for s in steps:
        print(f"  {s.name:<30} {s.op_class:<9} {s.dtype:<5} {s.macs:>10,} {s.live_bytes:>8,} "
              f"{s.state_bytes:>8,} {s.flash_bytes:>8,}")
