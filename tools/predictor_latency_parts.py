"""The ``latency`` and ``speed`` parts of ``tools/bench_predictors.py`` (a module of the tool,
imported from ``tools/``).

``--part latency``: run ``nasx profile`` (resumable: measurements in ``--latency-out`` are
reused), then report the held-out error of the predictor fitted on the min and on the median of
each subnet's timed calls, how well two halves of the measurements agree (the noise floor), and
predictions/s. ``--part speed``: predictions/s of ``CostModel.costs`` and the saved latency
predictor.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from machine import machine_line


def add_latency_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the ``latency`` and ``speed`` parts."""
    g = p.add_argument_group("latency / speed")
    g.add_argument("--latency-space", default="hybrid-mcu", help="search space preset or file")
    g.add_argument("--latency-data", default="japanese-vowels", help="dataset (input shape)")
    g.add_argument("--latency-samples", type=int, default=500, help="random subnets to measure")
    g.add_argument("--latency-rounds", type=int, default=10, help="interleaved rounds")
    g.add_argument("--latency-seed", type=int, default=0, help="seed of nasx profile")
    g.add_argument("--latency-runtime", default="onnxruntime",
                   choices=("onnxruntime", "torch", "pt2"), help="what runs the subnets")
    g.add_argument("--latency-out", default="bench-latency", help="folder of the measurements "
                   "and predictor (an existing one is resumed)")
    g.add_argument("--speed-genomes", type=int, default=20000, help="genomes to time predict on")


def noise_floor(dataset, ids: list[str], statistic: str) -> dict[str, float]:
    """Agreement of the two halves of the measurements (even vs odd rounds) per subnet:
    ``median_diff`` (%) and ``within_10`` (share of subnets whose halves agree within 10 %)."""
    import numpy as np

    from nasx.predictors.latency.data import pooled_statistic

    diffs = []
    for i in ids:
        rounds = dataset.samples_by_round(i)
        halves = [[s for r, xs in rounds.items() if r % 2 == k for s in xs] for k in (0, 1)]
        if halves[0] and halves[1]:
            a, b = (pooled_statistic(h, statistic) for h in halves)
            diffs.append(abs(a / b - 1.0) * 100.0)
    d = np.array(diffs)
    return {"n": int(d.size), "median_diff": float(np.median(d)) if d.size else float("nan"),
            "within_10": float(np.mean(d <= 10.0)) if d.size else float("nan")}


def prediction_rates(predict: Callable[[object], object], genomes: object) -> tuple[float, float]:
    """(first call, second call) predictions per second of ``predict(genomes)``."""
    import time

    rates = []
    for _ in range(2):
        start = time.perf_counter()
        predict(genomes)
        rates.append(len(genomes) / (time.perf_counter() - start))  # type: ignore[arg-type]
    return rates[0], rates[1]


def _random_genomes(space, n: int, seed: int):
    import numpy as np

    from nasx.search_spaces import GenomeCodec, random_arch

    codec, rng = GenomeCodec(space), np.random.default_rng(seed)
    return np.stack([codec.encode(random_arch(space, rng)) for _ in range(n)])


def _speed_rows(space, predictor, n: int) -> list[str]:
    from nasx.predictors import CostModel, load_device

    genomes = _random_genomes(space, n, seed=12345)
    cost = CostModel(space, predictor.channels, predictor.classes, length=predictor.length,
                     device=load_device("host-cpu"))
    rows = []
    for name, fn in (("LatencyPredictor.predict", predictor.predict),
                     ("CostModel.costs (analytic, host-cpu roofline)", cost.costs)):
        cold, warm = prediction_rates(fn, genomes)
        rows.append(f"| {name} | {n} | {cold:,.0f} | {warm:,.0f} |")
    return rows


def run_latency(args: argparse.Namespace) -> int:
    """Profile (or resume), fit on min and median, print markdown."""
    from pathlib import Path

    import numpy as np
    import torch

    from nasx.data import load_dataset
    from nasx.predictors import load_device
    from nasx.predictors.latency.data import LatencyDataset
    from nasx.predictors.latency.model import LatencyPredictor, data_file, holdout_metrics
    from nasx.predictors.latency.profile import profile_archs, profile_latency, split_holdout
    from nasx.search_spaces import arch_id, load_space

    torch.set_num_threads(1)
    space = load_space(args.latency_space)
    splits = load_dataset(args.latency_data)
    folder = Path(args.latency_out)
    print(f"- machine: {machine_line()} (start)")
    report = profile_latency(space, device=load_device("host-cpu"), channels=splits.channels,
                             classes=splits.num_classes, length=splits.max_length,
                             folder=folder, samples=args.latency_samples,
                             runtime=args.latency_runtime, rounds=args.latency_rounds,
                             seed=args.latency_seed)
    print(f"- machine: {machine_line()} (end)")
    s = report.predictor.settings
    print(f"- space `{space.name}`, data `{args.latency_data}`, runtime {s.runtime}: input "
          f"(batch {s.batch}, "
          f"{s.channels} channels, length {s.length}), {s.threads} thread, "
          f"{args.latency_rounds} interleaved rounds x ({s.warmup} warm-up + {s.repeats} timed) "
          f"calls; {args.latency_samples} random subnets + largest + smallest; "
          f"{report.measured} (subnet, round) pairs measured in this run "
          f"({report.seconds:.0f} s), {report.reused} reused")
    archs = profile_archs(space, args.latency_samples, args.latency_seed)
    train_ids, held_ids = split_holdout(archs, args.latency_seed)
    dataset = LatencyDataset(data_file(folder, "host-cpu", s.runtime), s)
    print("\n| latency statistic | train | held out | MAPE | within +-10% | within +-5% "
          "| max error | halves agree within 10% (noise floor) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for statistic in ("min", "median"):
        g, y = dataset.table(train_ids, statistic)
        predictor = LatencyPredictor.fit(space, s, statistic, g, y)
        hg, hy = dataset.table(held_ids, statistic)
        m = holdout_metrics(predictor.predict(hg), hy)
        floor = noise_floor(dataset, [arch_id(a) for a in archs], statistic)
        print(f"| {statistic} | {len(train_ids)} | {m['n']} | {m['mape']:.2f}% | "
              f"{100 * m['within_10']:.1f}% | {100 * m['within_5']:.1f}% | {m['max_ape']:.1f}% | "
              f"{100 * floor['within_10']:.1f}% (median diff {floor['median_diff']:.1f}%) |")
    _, lat = dataset.table([arch_id(a) for a in archs], "min")
    print(f"\nmeasured latency (min): {1e3 * lat.min():.3f} to {1e3 * lat.max():.3f} ms, "
          f"median {1e3 * float(np.median(lat)):.3f} ms")
    print("\n| predictor | genomes | predictions/s (first call) | predictions/s (second) |")
    print("|---|---:|---:|---:|")
    print("\n".join(_speed_rows(space, report.predictor, args.speed_genomes)))
    return 0


def run_speed(args: argparse.Namespace) -> int:
    """Predictions/s of the saved latency predictor and of ``CostModel.costs``."""
    from pathlib import Path

    from nasx.predictors.latency.model import LatencyPredictor, predictor_file
    from nasx.search_spaces import load_space

    space = load_space(args.latency_space)
    predictor = LatencyPredictor.load(
        predictor_file(Path(args.latency_out), "host-cpu", args.latency_runtime), space)
    print(f"- machine: {machine_line()}")
    print("\n| predictor | genomes | predictions/s (first call) | predictions/s (second) |")
    print("|---|---:|---:|---:|")
    print("\n".join(_speed_rows(space, predictor, args.speed_genomes)))
    return 0
