"""``nasx export``: write a chosen subnet of a trained run for deployment, verified.

    nasx export --run runs/NAME --pick largest|smallest|ARCHID|INDEX|BUDGET|DEVICE|ARCH.json
                [--format torch,pt2,onnx,c] [--device D ...] [--overwrite]
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx export``."""
    p = subparsers.add_parser(
        "export", help="export a subnet (safetensors, torch.export, ONNX, C header), verified",
        description="Export one subnet of a trained run into <run>/exports/<archid>/: arch.json "
        "and model.safetensors (BatchNorm folded, quantized weights as integer codes with "
        "scales; nasx.load_exported rebuilds the module), model.pt2 (torch.export), model.onnx "
        "(QDQ for int8 layers), model.h (C header) and metrics.json (accuracy, cost per "
        "device, verification, measured latency). Every format is run on the validation split "
        "against the supernet subnet; a mismatch is an error and nothing is written.")
    p.add_argument("--run", type=Path, required=True, help="run folder written by nasx train")
    p.add_argument("--pick", required=True, metavar="SPEC",
                   help="largest, smallest or random-N (the run's subnets, as nasx eval names "
                   "them), an arch id, an index into <run>/search/pareto.json subnets, a budget "
                   "name of pareto.json (or a device with exactly one budget), or an arch JSON "
                   "file")
    p.add_argument("--format", default="torch,pt2,onnx,c", metavar="LIST",
                   help="comma-separated formats among torch, pt2, onnx, c (default: all; "
                   "arch.json, model.safetensors and metrics.json are always written)")
    p.add_argument("--device", action="append", metavar="NAME|PATH",
                   help="device profile for the cost in metrics.json; repeat for several "
                   "(default: the picked budget's device and host-cpu)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier export of the same subnet")
    p.set_defaults(func=run, command_parser=p)


def run(args: argparse.Namespace) -> int:
    """Export and print the verification and metrics summary."""
    from nasx.export.exporter import export_subnet, parse_formats

    formats = parse_formats(args.format)
    export_subnet(args.run, args.pick, formats=formats, devices=args.device or (),
                  overwrite=args.overwrite)
    return 0
