"""Check the analytic cost model against the extracted modules, and time it.

For random archs of each space, the analytic weight bytes, params, MACs and peak SRAM (whole
sequence and streaming) are compared with independent counts on ``Supernet.extract(arch)``
(:mod:`module_audit`, the counter the tests also use, beside this script); then the genome batch
path is timed. Prints markdown.

    .venv/bin/python tools/bench_cost.py [--archs 50] [--tiny-archs 20] [--length 100]
                                         [--genomes 20000] [--device stm32h743] [--with-op OP]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from module_audit import module_weight_bytes, trace_module

from nasx.predictors import CostModel, load_device
from nasx.search_spaces import (
    GenomeCodec,
    SearchSpace,
    load_space,
    random_arch,
    space_from_dict,
    space_to_dict,
)
from nasx.supernet import Supernet


def bench_space(name: str) -> SearchSpace:
    """A preset, or ``<preset>+<op>``: the preset with ``op`` (registry defaults) allowed in
    every stage and drawn 3x as often as each other op (to check an op that no preset has)."""
    preset, _, op = name.partition("+")
    if not op:
        return load_space(preset)
    raw = space_to_dict(load_space(preset))
    raw["name"] = name
    for st in raw["stages"]:
        st["ops"] = [*st["ops"], op]
    raw["sampling"] = {"op_weights": {op: 3}}
    return space_from_dict(raw)


def check_space(name: str, archs: int, length: int, seed: int) -> dict[str, int]:
    """Agreements (count of archs whose analytic figure equals the module's) per quantity."""
    space = bench_space(name)
    torch.manual_seed(seed)
    net = Supernet(space, 12, 9).eval()
    rng = np.random.default_rng(seed)
    models = {m: CostModel(space, 12, 9, length=length, mode=m)
              for m in ("whole-sequence", "streaming")}
    agree = dict.fromkeys(("weight bytes", "params", "MACs", "peak SRAM whole",
                           "peak SRAM streaming"), 0)
    for _ in range(archs):
        arch = random_arch(space, rng)
        static = net.extract(arch)
        whole, stream = (models[m].cost(arch) for m in ("whole-sequence", "streaming"))
        trace = trace_module(static, length)
        agree["weight bytes"] += whole.weight_bytes == module_weight_bytes(static)
        agree["params"] += whole.params == sum(p.numel() for p in static.parameters())
        agree["MACs"] += whole.macs == trace.macs
        agree["peak SRAM whole"] += whole.peak_sram_bytes == trace.peak_sram_bytes
        agree["peak SRAM streaming"] += (stream.peak_sram_bytes
                                         == trace_module(static, length, "streaming")
                                         .peak_sram_bytes)
    return agree


def time_genomes(name: str, n: int, length: int, device: str, seed: int) -> tuple[float, float]:
    """(cold, warm) predictions per second of ``CostModel.costs`` over ``n`` random genomes."""
    space = load_space(name)
    codec, rng = GenomeCodec(space), np.random.default_rng(seed)
    genomes = np.stack([codec.encode(random_arch(space, rng)) for _ in range(n)])
    model = CostModel(space, 12, 9, length=length, device=load_device(device))
    rates = []
    for _ in range(2):  # the first pass fills the per-unit cache
        start = time.perf_counter()
        model.costs(genomes)
        rates.append(n / (time.perf_counter() - start))
    return rates[0], rates[1]


def main() -> None:
    """Run the checks and the timing; print markdown tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", type=int, default=50, help="random hybrid-mcu archs to check")
    p.add_argument("--tiny-archs", type=int, default=20, help="random tiny archs to check")
    p.add_argument("--length", type=int, default=100, help="sequence length")
    p.add_argument("--genomes", type=int, default=20000, help="genomes to time")
    p.add_argument("--device", default="stm32h743", help="device profile for the timing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--with-op", action="append", default=[], metavar="OP",
                   help="also check hybrid-mcu with OP added to every stage (--archs archs)")
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"## Analytic cost vs extracted module (length {args.length}, 12 channels, 9 classes)\n")
    print("| space | archs | weight bytes | params | MACs | peak SRAM whole | "
          "peak SRAM streaming |")
    print("|---|---|---|---|---|---|---|")
    spaces = [("hybrid-mcu", args.archs), ("tiny", args.tiny_archs)]
    for name, n in [*spaces, *((f"hybrid-mcu+{op}", args.archs) for op in args.with_op)]:
        agree = check_space(name, n, args.length, args.seed)
        print(f"| {name} | {n} | " + " | ".join(f"{v}/{n}" for v in agree.values()) + " |")
    print(f"\n## Analytic model speed ({args.genomes} random genomes, device {args.device})\n")
    print("| space | cold (empty cache) archs/s | warm archs/s |")
    print("|---|---|---|")
    for name in ("hybrid-mcu", "hybrid-gpu"):
        cold, warm = time_genomes(name, args.genomes, args.length, args.device, args.seed)
        print(f"| {name} | {cold:,.0f} | {warm:,.0f} |")


if __name__ == "__main__":
    main()
