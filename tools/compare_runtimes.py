"""The same search under two latency runtimes, side by side: how many front subnets and picks
differ, and every pick's latency measured in onnxruntime (the deployed model.onnx).

Usage (two searches of the same trained run, e.g. ``nasx search ... --runtime torch`` into one
copy of the run and ``--runtime onnxruntime`` into another)::

    .venv/bin/python tools/compare_runtimes.py --run R --a R_torch/search/pareto.json \\
        --b R_ort/search/pareto.json

Each pick is exported as ``nasx export`` writes ``model.onnx`` and timed in onnxruntime with 1
thread at batch 1 on the data's longest sequence: ``--rounds`` rounds of 5 warm-up and 40 timed
calls, interleaved over the picks, the minimum (as ``nasx profile``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _fronts(doc: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s in doc["subnets"]:
        if s["on_front"]:
            out.setdefault(s["device"], set()).add(s["id"])
    return out


def _picks(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(budget name, picked subnet)`` in budget order (the two searches' budgets pair up by
    position: the demo's host-cpu limit is set from each runtime's own predictor)."""
    return [(b["name"], doc["subnets"][b["best"]]) for b in doc["budgets"]]


def onnxruntime_ms(run_dir: Path, archs: list[dict[str, Any]], rounds: int) -> list[float]:
    """Minimum ms of one onnxruntime call of each arch's exported model (interleaved rounds)."""
    import torch

    from nasx.export.preprocess import Preprocessing
    from nasx.predictors.latency.measure import measure_samples_s
    from nasx.predictors.latency.runtimes import runtime_module
    from nasx.runs.trained import load_trained_run

    run = load_trained_run(run_dir)
    sp = run.splits
    torch.set_num_threads(1)
    modules = [runtime_module(run.net.extract(a).eval(), "onnxruntime", space=run.space,
                              channels=sp.channels, classes=sp.num_classes,
                              length=sp.max_length, preprocessing=Preprocessing.of_splits(sp))
               for a in archs]
    x = torch.randn(1, sp.channels, sp.max_length, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([sp.max_length])
    best = [float("inf")] * len(archs)
    for _ in range(rounds):
        for i, m in enumerate(modules):
            best[i] = min(best[i], min(measure_samples_s(m, x, lengths, warmup=5, repeats=40)))
    return [1e3 * b for b in best]


def main(argv: list[str] | None = None) -> int:
    """Print the comparison as markdown."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="the trained run (for the weights)")
    p.add_argument("--a", type=Path, required=True, help="first pareto.json")
    p.add_argument("--b", type=Path, required=True, help="second pareto.json")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    docs = [json.loads(path.read_text()) for path in (args.a, args.b)]
    names = [d["settings"]["devices"].get("host-cpu", {}).get("runtime", "?") for d in docs]
    fa, fb = (_fronts(d) for d in docs)
    print(f"| device | front ({names[0]}) | front ({names[1]}) | in both |")
    print("|---|---:|---:|---:|")
    for device in sorted(set(fa) | set(fb)):
        a, b = fa.get(device, set()), fb.get(device, set())
        print(f"| {device} | {len(a)} | {len(b)} | {len(a & b)} |")
    pa, pb = (_picks(d) for d in docs)
    archs = [s["arch"] for _, s in pa] + [s["arch"] for _, s in pb]
    ms = onnxruntime_ms(args.run, archs, args.rounds)
    n = len(pa)
    print(f"\n| budget ({names[0]} / {names[1]}) | pick ({names[0]}) | onnxruntime ms | val acc "
          f"| pick ({names[1]}) | onnxruntime ms | val acc | same pick |")
    print("|---|---|---:|---:|---|---:|---:|---|")
    for k, ((name_a, a), (name_b, b)) in enumerate(zip(pa, pb, strict=True)):
        print(f"| {name_a} / {name_b} | {a['id']} | {ms[k]:.3f} | "
              f"{100 * a['validated']['accuracy']:.2f} | {b['id']} | {ms[n + k]:.3f} | "
              f"{100 * b['validated']['accuracy']:.2f} | {'yes' if a['id'] == b['id'] else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
