"""Compare a device's analytic latency with the latencies ``nasx profile`` measured on it.

    .venv/bin/python tools/bench_latency_estimate.py --space runs/jv-search/space.yaml \\
        --data runs/jv-search/predictors/latency-h100-data.jsonl [--format table|json]

For every subnet in the measurement file, the analytic latency that nasx uses when no
measurement exists (``nasx cost``: the roofline estimate on CPUs/GPUs, the analytic model on
MCUs) is computed from the stored genome, for the device, channels, classes and length in the
file's header, and compared with the min and the median of the subnet's pooled timed calls:
MAPE, median APE, the analytic/measured ratio (geometric mean, min, max), Spearman rho and
Kendall tau-b. Prints a markdown table (or JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from nasx.errors import NasxError
from nasx.predictors import CostModel, load_device
from nasx.predictors.accuracy.rank_metrics import rank_metrics
from nasx.predictors.latency.data import (
    LatencyDataset,
    ProfileSettings,
    space_fingerprint,
    stored_settings,
)
from nasx.search_spaces import load_space


def read_measurements(path: Path) -> tuple[ProfileSettings, np.ndarray, dict[str, np.ndarray]]:
    """``(settings, genomes (n, G), {"min": (n,), "median": (n,)} seconds)`` of a
    ``latency-<device>-data.jsonl`` file, samples pooled over rounds per subnet."""
    dataset = LatencyDataset(path, stored_settings(path))
    ids = dataset.ids()
    genomes, low = dataset.table(ids, "min")
    return dataset.settings, genomes, {"min": low, "median": dataset.table(ids, "median")[1]}


def compare(analytic: np.ndarray, measured: np.ndarray) -> dict[str, float]:
    """Error and rank agreement of ``analytic`` against ``measured`` latencies (seconds)."""
    ratio = analytic / measured
    ape = np.abs(ratio - 1.0) * 100.0
    ranks = rank_metrics(analytic, measured)
    return {"n": int(ape.size), "mape": float(ape.mean()), "median_ape": float(np.median(ape)),
            "within_10": float(np.mean(ape <= 10.0)),
            "ratio_geomean": float(np.exp(np.log(ratio).mean())),
            "ratio_min": float(ratio.min()), "ratio_max": float(ratio.max()),
            "spearman": ranks["spearman"], "kendall_tau": ranks["kendall_tau"]}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", required=True, help="the profiled space: preset or YAML file")
    p.add_argument("--data", required=True, type=Path, help="latency-<device>-data.jsonl")
    p.add_argument("--device", default=None, help="device profile (default: the file's)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    try:
        settings, genomes, measured = read_measurements(args.data)
    except NasxError as err:
        print(err, file=sys.stderr)
        return 2
    space = load_space(args.space)
    if space_fingerprint(space) != settings.space_fingerprint:
        print(f"{args.space}: not the space {args.data} was measured on "
              f"({settings.space}, fingerprint {settings.space_fingerprint})",
              file=sys.stderr)
        return 2
    if settings.batch != 1:
        print(f"batch {settings.batch}: the analytic model is per sequence (batch 1)",
              file=sys.stderr)
        return 2
    device = load_device(args.device or settings.device)
    model = CostModel(space, settings.channels, settings.classes,
                      length=settings.length, device=device)
    costs = model.costs(genomes)
    analytic, supported = costs["latency_s"], costs["supported"]
    subsets = {"all": np.ones_like(supported), "bits supported": supported}
    rows = [{"statistic": stat, "subset": name, **compare(analytic[mask], measured[stat][mask]),
             "measured_ms": [float(1e3 * f(measured[stat][mask])) for f in
                             (np.min, np.median, np.max)],
             "analytic_ms": [float(1e3 * f(analytic[mask])) for f in
                             (np.min, np.median, np.max)]}
            for stat in ("min", "median") for name, mask in subsets.items() if mask.any()]
    if args.format == "json":
        print(json.dumps({"device": device.name, "settings": settings.to_dict(), "rows": rows},
                         indent=2))
        return 0
    print(f"{device.name} analytic latency vs measured, {settings.space} "
          f"(c{settings.channels} k{settings.classes} l{settings.length}), "
          f"{args.data}\n")
    print("| measured | subnets | n | measured ms min/med/max | analytic ms min/med/max | "
          "MAPE % | median APE % | within 10% | ratio geomean (min-max) | Spearman | "
          "Kendall |")
    print("|---|---|---:|---|---|---:|---:|---:|---|---:|---:|")
    for r in rows:
        m, a = ("/".join(f"{v:.4g}" for v in r[k]) for k in ("measured_ms", "analytic_ms"))
        print(f"| {r['statistic']} | {r['subset']} | {r['n']} | {m} | {a} | {r['mape']:.1f} | "
              f"{r['median_ape']:.1f} | {100 * r['within_10']:.1f}% | "
              f"{r['ratio_geomean']:.3g} ({r['ratio_min']:.3g}-{r['ratio_max']:.3g}) | "
              f"{r['spearman']:.3f} | {r['kendall_tau']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
