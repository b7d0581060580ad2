"""``nasx inspect``: the Pareto fronts and budget picks of a run's search.

    nasx inspect --run runs/NAME [--format table|json|csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasx.runs.layout import TB_DIR

if TYPE_CHECKING:
    from nasx.runs.readers import ParetoFile, RoundSummary

FORMATS = ("table", "json", "csv")
CSV_COLUMNS = ("index", "device", "id", "on_front", "best_for", "pred_accuracy",
               "pred_accuracy_std", "latency_ms", "latency_label", "latency_runtime", "sram_kb",
               "flash_kb",
               "val_accuracy", "val_latency_ms", "arch")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx inspect``."""
    p = subparsers.add_parser(
        "inspect", help="print a run's search results (fronts, budget picks)",
        description="Print the subnets of <run>/search/pareto.json (per device its front, and "
        "each budget's best subnet) with predicted and validated numbers, and the TensorBoard "
        "command for the front figures and HParams views.")
    p.add_argument("--run", type=Path, required=True, help="run folder searched by nasx search")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format")
    p.set_defaults(func=run, command_parser=p)


def _best_for(pf: ParetoFile) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for b in pf.budgets:
        if b["best"] is not None:
            out.setdefault(int(b["best"]), []).append(b["name"])
    return out


def csv_rows(pf: ParetoFile) -> list[dict[str, Any]]:
    """One flat row per subnet (:data:`CSV_COLUMNS`)."""
    from nasx.search_spaces import describe_arch

    best = _best_for(pf)
    rows = []
    for s in pf.subnets:
        p, v = s["predicted"], s["validated"] or {}
        rows.append({
            "index": s["index"], "device": s["device"], "id": s["id"],
            "on_front": str(bool(s.get("on_front", True))).lower(),
            "best_for": "; ".join(best.get(s["index"], [])),
            "pred_accuracy": f"{p['accuracy']:.6g}",
            "pred_accuracy_std": f"{p['accuracy_std']:.6g}",
            "latency_ms": f"{p['latency_ms']:.6g}", "latency_label": p["latency_label"],
            "latency_runtime": p.get("runtime", "torch"),
            "sram_kb": f"{p['sram_kb']:.6g}", "flash_kb": f"{p['flash_kb']:.6g}",
            "val_accuracy": "" if v.get("accuracy") is None else f"{v['accuracy']:.6g}",
            "val_latency_ms": "" if v.get("latency_ms") is None else f"{v['latency_ms']:.6g}",
            "arch": describe_arch(s["arch"])})
    return rows


def _table(pf: ParetoFile, run_dir: Path) -> None:
    from nasx.search_spaces import describe_arch

    best = _best_for(pf)
    picks = ["; ".join(best.get(s["index"], [])) for s in pf.subnets]
    width = max([len("best for"), *map(len, picks)])
    head = (f"{'#':>3} {'device':<14} {'arch id':<13} {'front':<5} {'pred acc':>8} "
            f"{'val acc':>7} {'latency ms':>11} {'kind':<8} {'runtime':<11} {'SRAM KB':>8} "
            f"{'flash KB':>8}  {'best for':<{width}}  arch")
    print(head)
    for s, pick in zip(pf.subnets, picks, strict=True):
        p, v = s["predicted"], s["validated"]
        val = "" if v is None else f"{100 * v['accuracy']:.2f}"
        lat = f"{p['latency_ms']:.4g}"
        if v is not None and v.get("latency_ms") is not None:
            lat += f" ({v['latency_ms']:.3g})"
        print(f"{s['index']:>3} {s['device']:<14} {s['id']:<13} "
              f"{'yes' if s.get('on_front', True) else 'no':<5} {100 * p['accuracy']:>8.2f} "
              f"{val:>7} {lat:>11} {p['latency_label']:<8} {p.get('runtime', 'torch'):<11} "
              f"{p['sram_kb']:>8.1f} "
              f"{p['flash_kb']:>8.1f}  {pick:<{width}}  {describe_arch(s['arch'])}")
    for b in pf.budgets:
        pick = "none meets it" if b["best"] is None else \
            f"#{b['best']} {pf.subnets[b['best']]['id']}"
        print(f"budget {b['name']}: {pick}")
        if b.get("pick"):
            print(f"  picked as {b['pick']['rule']}"
                  + (f"; {len(b['pick']['candidates'])} candidates" if b["pick"]["candidates"]
                     else ""))
    for line in gap_lines(pf.rounds):
        print(line)
    print("accuracy in %, validated latency (measured on this machine) in brackets; runtime: "
          "what the latency is for (files before runtimes were recorded: torch)")
    print(f"tensorboard --logdir {run_dir / TB_DIR}")


def gap_lines(rounds: Sequence[RoundSummary]) -> list[str]:
    """Per device, how the last round's predictions compared with the validated accuracies
    (``pareto.json``'s ``rounds``; keys missing in older files are left out)."""
    last: dict[str, RoundSummary] = {}
    for r in rounds:
        last[r["device"]] = r  # rounds are in order: the last one per device wins
    out = []
    for device, r in last.items():
        if r.get("mean_abs_gap") is None:
            continue
        text = (f"round {r['round']}, {device}: mean |predicted - validated| accuracy "
                f"{100 * r['mean_abs_gap']:.2f} points over {r['validated']} validated subnets")
        extra = []
        if r.get("mean_abs_gap_unseen") is not None:
            extra.append(f"{100 * r['mean_abs_gap_unseen']:.2f} over the {r['unseen']} the "
                         "predictor was not fitted on")
        if r.get("noise_abs_gap") is not None:
            extra.append(f"validation noise alone: about {100 * r['noise_abs_gap']:.2f}")
        out.append(text + (f" ({'; '.join(extra)})" if extra else ""))
    return out


def run(args: argparse.Namespace) -> int:
    """Print the search results of ``--run``."""
    from nasx.runs.readers import read_pareto
    from nasx.search.results import output_paths

    pareto_path, _ = output_paths(args.run)
    pf = read_pareto(pareto_path)
    if args.format == "json":
        print(json.dumps(pf.document, indent=1))
    elif args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(csv_rows(pf))
    else:
        _table(pf, args.run)
    return 0
