"""Benchmarks of the fitted predictors (issue 4); each part is run with ``--part``.

    .venv/bin/python tools/bench_predictors.py --part accuracy [--run runs/osuleaf] [...]

Parts register themselves in :data:`PARTS` (name -> (add_arguments, run)); each prints markdown
for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

# name -> (function adding the part's options to the parser, function running the part)
PARTS: dict[str, tuple[Callable[[argparse.ArgumentParser], None],
                       Callable[[argparse.Namespace], int]]] = {}


# ---------------------------------------------------------------- latency predictor ----------
# --part latency: run `nasx profile` (resumable: measurements in --latency-out are reused), then
# report the held-out error of the predictor fitted on the min and on the median of each
# subnet's timed calls, how well two halves of the measurements agree (the noise floor), and
# predictions/s. --part speed: predictions/s of CostModel.costs and the saved latency predictor.


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


def _machine_line() -> str:
    import os
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((x.split(":", 1)[1].strip() for x in f if x.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__}, load average "
            f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}")


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
    print(f"- machine: {_machine_line()} (start)")
    report = profile_latency(space, device=load_device("host-cpu"), channels=splits.channels,
                             classes=splits.num_classes, length=splits.max_length,
                             folder=folder, samples=args.latency_samples,
                             runtime=args.latency_runtime, rounds=args.latency_rounds,
                             seed=args.latency_seed)
    print(f"- machine: {_machine_line()} (end)")
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
    print(f"- machine: {_machine_line()}")
    print("\n| predictor | genomes | predictions/s (first call) | predictions/s (second) |")
    print("|---|---:|---:|---:|")
    print("\n".join(_speed_rows(space, predictor, args.speed_genomes)))
    return 0


PARTS["latency"] = (add_latency_arguments, run_latency)
PARTS["speed"] = (lambda p: None, run_speed)  # its options are the latency part's


# ---------------------------------------------------------------- accuracy predictor ---------
# --part accuracy: build (or reuse) the run's accuracy dataset, fit on the first 50..300
# training subnets, score every fit on the same held-out subnets, time predict, and measure how
# repeatable the validation accuracy itself is (split-half reliability over validation samples).


def add_accuracy_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the ``accuracy`` part."""
    g = p.add_argument_group("accuracy")
    g.add_argument("--run", default="runs/osuleaf", help="trained supernet run folder")
    g.add_argument("--sizes", default="50,100,150,200,250,300",
                   help="training-set sizes (comma-separated; the largest is built)")
    g.add_argument("--holdout", type=int, default=100, help="held-out subnets")
    g.add_argument("--seed", type=int, default=0, help="sampling and fitting seed")
    g.add_argument("--genomes", type=int, default=20000, help="genomes to time predict on")


def _per_sample_scores(run, archs, split: str) -> tuple[object, object]:
    """Per subnet and sequence of ``split`` (``val`` or ``test``): correct (0/1) and the
    probability of the true class, each ``(subnets, sequences)``, after BatchNorm
    recalibration (as the dataset)."""
    import numpy as np
    import torch

    from nasx.train.bn_recal import preserved_bn_state, recalibrate_bn
    from nasx.train.evaluate import calibration_batches

    cfg = run.cfg
    device = next(run.net.parameters()).device
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, device)
    data = run.splits.split(split).to(device)
    correct, prob = [], []
    with torch.no_grad(), preserved_bn_state(run.net):
        for arch in archs:
            recalibrate_bn(run.net, arch, calib)
            logits = run.net.eval()(data.x, data.lengths, arch=arch)  # (N, classes)
            correct.append((logits.argmax(1) == data.y).cpu().numpy())
            prob.append(torch.softmax(logits, 1)[torch.arange(len(data.y)), data.y].cpu().numpy())
    run.net.train()
    return np.array(correct, dtype=np.float64), np.array(prob)


def run_accuracy(args: argparse.Namespace) -> int:
    """Accuracy predictor on a trained run: tau / Spearman / RMSE against training-set size."""
    import time
    from pathlib import Path

    import numpy as np
    import torch
    from scipy import stats

    from nasx.predictors.accuracy.data import evaluate_subnet, records_arrays
    from nasx.predictors.accuracy.fit import build_run_dataset, split_archs
    from nasx.predictors.accuracy.predictor import fit_accuracy_predictor
    from nasx.predictors.accuracy.rank_metrics import rank_metrics
    from nasx.predictors.accuracy.reliability import split_half_reliability as reliability
    from nasx.runs.trained import load_trained_run
    from nasx.search_spaces import GenomeCodec, arch_id, random_arch
    from nasx.train.evaluate import calibration_batches

    torch.set_num_threads(1)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    run = load_trained_run(Path(args.run))
    torch.set_num_threads(1)  # load_trained_run applies the run's thread setting
    cfg = run.cfg
    print("## Accuracy predictor (issue 4)\n")
    print(f"- command: `.venv/bin/python tools/bench_predictors.py --part accuracy --run "
          f"{args.run} --sizes {args.sizes} --holdout {args.holdout} --seed {args.seed}`")
    print(f"- machine: {_machine_line()}; 1 torch thread")
    print(f"- run `{args.run}`: space `{run.space.name}`, data `{cfg.data.name}` "
          f"({len(run.splits.train)} train / {len(run.splits.val)} validation sequences), "
          f"weights {run.weights}; BatchNorm recalibrated on {cfg.train.calib_batches} "
          f"training batches of {cfg.data.batch_size} before each evaluation")
    start = time.perf_counter()
    train, held = build_run_dataset(run, samples=sizes[-1], holdout=args.holdout,
                                    seed=args.seed, progress=False)
    build_s = time.perf_counter() - start
    one = split_archs(run.space, 1, 1, args.seed + 1)[0]  # a fresh subnet, not in the dataset
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, "cpu")
    times = []
    for arch in one * 3:
        t0 = time.perf_counter()
        evaluate_subnet(run, arch, GenomeCodec(run.space), run.splits.val, calib)
        times.append(time.perf_counter() - t0)
    print(f"- dataset `{args.run}/predictors/accuracy-data.jsonl`: {len(train)} training + "
          f"{len(held)} held-out subnets (uniformly random, seed {args.seed}); this call took "
          f"{build_s:.1f} s (cached subnets are not evaluated again); one evaluation "
          f"(recalibration + validation) takes {np.median(times):.2f} s (median of 3)")
    gh, ah = records_arrays(held)
    _, at = records_arrays(train)
    print(f"- validation accuracy of the {len(train) + len(held)} subnets: min "
          f"{min(at.min(), ah.min()):.3f}, median {np.median(np.r_[at, ah]):.3f}, max "
          f"{max(at.max(), ah.max()):.3f}; {len(np.unique(np.r_[at, ah]))} distinct values\n")
    print("| training subnets | chosen by 5-fold CV | Kendall tau | Spearman | RMSE | "
          "ridge only: tau | MLP ensemble only: tau | trees only: tau | fit s |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        g, a = records_arrays(train[:n])
        t0 = time.perf_counter()
        pred = fit_accuracy_predictor(run.space, g, a, seed=args.seed)
        fit_s = time.perf_counter() - t0
        m = rank_metrics(pred.predict(gh)[0], ah)
        only = {}
        for kind in ("ridge", "mlp", "trees"):
            if pred.kind == kind:
                only[kind] = m["kendall_tau"]
            else:
                alone = fit_accuracy_predictor(run.space, g, a, seed=args.seed, kinds=(kind,))
                only[kind] = rank_metrics(alone.predict(gh)[0], ah)["kendall_tau"]
        print(f"| {n} | {pred.info['selection']['chosen']} | **{m['kendall_tau']:.3f}** | "
              f"{m['spearman']:.3f} | {m['rmse']:.4f} | {only['ridge']:.3f} | "
              f"{only['mlp']:.3f} | {only['trees']:.3f} | {fit_s:.1f} |")
    # Speed of predict, both families, on random genomes.
    codec, rng = GenomeCodec(run.space), np.random.default_rng(args.seed)
    genomes = np.stack([codec.encode(random_arch(run.space, rng))
                        for _ in range(min(args.genomes, 2000))])
    genomes = np.tile(genomes, (-(-args.genomes // len(genomes)), 1))[: args.genomes]
    g, a = records_arrays(train[: sizes[-1]])
    rates = {}
    for kind in ("ridge", "mlp", "trees"):
        pred = fit_accuracy_predictor(run.space, g, a, seed=args.seed, kinds=(kind,))
        pred.predict(genomes[:100])
        best_s = min(_timed_predict(pred, genomes) for _ in range(5))
        rates[kind] = len(genomes) / best_s
    print(f"\npredict speed ({len(genomes)} genomes per call, best of 5): ridge "
          f"{rates['ridge']:,.0f}/s, MLP ensemble {rates['mlp']:,.0f}/s, trees "
          f"{rates['trees']:,.0f}/s (target >= 10,000/s)\n")
    # How precisely does the validation split measure accuracy, and does it rank test accuracy?
    held_archs = split_archs(run.space, 1, args.holdout, args.seed)[1]
    assert [arch_id(x) for x in held_archs] == [r.id for r in held]
    correct, prob = _per_sample_scores(run, held_archs, "val")
    assert np.allclose(correct.mean(1), ah)
    test_correct, _ = _per_sample_scores(run, held_archs, "test")
    print("Measurement precision (held-out subnets; `nasx.predictors.accuracy.reliability`: "
          "sequences split in two random halves 200 times, Spearman-Brown):\n")
    print("| per-subnet quantity | sequences | split-half r | reliability | tau vs expected | "
          "noise sd (points) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, m in (("validation accuracy", correct), ("validation mean probability of the "
                    "true class", prob), ("test accuracy (report only)", test_correct)):
        rel = reliability(m, seed=args.seed)
        print(f"| {name} | {m.shape[1]} | {rel.split_half_r:.3f} | {rel.reliability:.3f} | "
              f"{rel.tau_expected:.3f} | {100 * rel.noise_sd:.2f} |")
    test_acc = test_correct.mean(1)
    g, a = records_arrays(train[: max(n for n in sizes if n <= 300)])
    pred = fit_accuracy_predictor(run.space, g, a, seed=args.seed)
    rows = (("measured validation accuracy", ah),
            ("measured validation loss (negated)", -np.array([r.val_loss for r in held])),
            ("validation mean probability of the true class", prob.mean(1)),
            (f"the predictor fitted on {len(a)} subnets", pred.predict(gh)[0]))
    print("\nKendall tau of the held-out subnets' test accuracy (the test split is only "
          "reported here, never fitted or selected on) against:\n")
    for name, v in rows:
        print(f"- {name}: {stats.kendalltau(v, test_acc).statistic:.3f}")
    print(f"\nKendall tau of measured validation loss (negated) against validation accuracy "
          f"(same sequences): {stats.kendalltau(rows[1][1], ah).statistic:.3f}")
    return 0


def _timed_predict(pred, genomes) -> float:
    import time

    start = time.perf_counter()
    pred.predict(genomes)
    return time.perf_counter() - start


PARTS["accuracy"] = (add_accuracy_arguments, run_accuracy)

# --part features: the trees' held-out Kendall tau with the gene columns only, with the summary
# columns in every tree, and the default two views (half the trees each), on several runs and
# held-out draws (the same training and held-out subnets for all three).
SHARES = {"genes only": 0.0, "summary in every tree": 1.0, "two views (default)": 0.5}


def add_features_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the ``features`` part."""
    g = p.add_argument_group("features")
    g.add_argument("--feature-runs", default="runs/osuleaf-v2-val50,runs/osuleaf-v3-val50-d50",
                   help="trained runs (comma-separated)")
    g.add_argument("--feature-seeds", default="0,1,2,3", help="held-out draws (comma-separated)")
    g.add_argument("--feature-samples", type=int, default=300, help="training subnets")


def run_features(args: argparse.Namespace) -> int:
    """Held-out Kendall tau of the trees for each way of using the summary columns."""
    from pathlib import Path

    import numpy as np
    import torch

    from nasx.predictors.accuracy.data import records_arrays
    from nasx.predictors.accuracy.features import ArchFeatures
    from nasx.predictors.accuracy.fit import build_run_dataset
    from nasx.predictors.accuracy.rank_metrics import rank_metrics
    from nasx.predictors.accuracy.tree_ensemble import TreeEnsemble, TreeSettings
    from nasx.runs.trained import load_trained_run

    print("## Accuracy predictor features (issue 4)\n")
    print(f"- command: `.venv/bin/python tools/bench_predictors.py --part features "
          f"--feature-runs {args.feature_runs} --feature-seeds {args.feature_seeds} "
          f"--feature-samples {args.feature_samples}`")
    print(f"- machine: {_machine_line()}\n")
    print("| run | seed | " + " | ".join(SHARES) + " |")
    print("|---|---:|" + "---:|" * len(SHARES))
    taus: dict[str, list[float]] = {k: [] for k in SHARES}
    for name in args.feature_runs.split(","):
        run = load_trained_run(Path(name))
        torch.set_num_threads(1)
        feats = ArchFeatures(run.space)
        for seed in (int(s) for s in args.feature_seeds.split(",")):
            train, held = build_run_dataset(run, samples=args.feature_samples, holdout=100,
                                            seed=seed, progress=False)
            g, y = records_arrays(train[: args.feature_samples])
            hg, hy = records_arrays(held)
            x, hx = feats.transform(g), feats.transform(hg)
            row = []
            for label, share in SHARES.items():
                trees = TreeEnsemble.fit(x, y, TreeSettings(summary_share=share), seed,
                                         genes=feats.gene_columns)
                tau = rank_metrics(trees.predict(hx)[0], hy)["kendall_tau"]
                taus[label].append(tau)
                row.append(f"{tau:.3f}")
            print(f"| `{name}` | {seed} | " + " | ".join(row) + " |", flush=True)
    print("| mean | | " + " | ".join(f"{np.mean(v):.3f}" for v in taus.values()) + " |")
    return 0


PARTS["features"] = (add_features_arguments, run_features)

# --part calibration: how much of a subnet's measured validation accuracy is BatchNorm
# calibration noise: the same held-out subnets measured after recalibrating on three seeded
# draws of the run's calibration batches, and on the whole training split (calib_batches 0).


def add_calibration_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the ``calibration`` part (also reads ``--run``)."""
    g = p.add_argument_group("calibration")
    g.add_argument("--calib-subnets", type=int, default=40, help="held-out subnets measured")
    g.add_argument("--calib-draws", type=int, default=3, help="seeded calibration draws")


def run_calibration(args: argparse.Namespace) -> int:
    """Spread of validation accuracy between calibration draws, against the whole split."""
    import itertools
    from pathlib import Path

    import numpy as np
    import torch

    from nasx.predictors.accuracy.fit import split_archs
    from nasx.predictors.accuracy.rank_metrics import rank_metrics
    from nasx.runs.trained import load_trained_run
    from nasx.search_spaces import arch_id
    from nasx.train.evaluate import calibration_batches, evaluate_subnets

    run = load_trained_run(Path(args.run))
    torch.set_num_threads(1)
    cfg = run.cfg
    count = cfg.train.calib_batches or 4
    held = split_archs(run.space, 1, 100, 0)[1][: args.calib_subnets]
    named = [(arch_id(a), a) for a in held]
    draws = {f"{count} x {cfg.data.batch_size}, seed {cfg.seed + k}":
             calibration_batches(run.splits.train, cfg.data.batch_size, count, cfg.seed + k,
                                 "cpu") for k in range(args.calib_draws)}
    draws["whole training split"] = calibration_batches(run.splits.train, cfg.data.batch_size,
                                                        0, cfg.seed, "cpu")
    acc = {label: np.array([e.accuracy for e in evaluate_subnets(run.net, named,
                                                                  run.splits.val, calib)])
           for label, calib in draws.items()}
    sampled = np.stack([acc[k] for k in list(acc)[:-1]])  # (draws, subnets)
    print("## BatchNorm calibration noise (issue 4)\n")
    print(f"- command: `.venv/bin/python tools/bench_predictors.py --part calibration --run "
          f"{args.run} --calib-subnets {args.calib_subnets} --calib-draws {args.calib_draws}`")
    print(f"- machine: {_machine_line()}")
    print(f"- {len(held)} held-out subnets (seed 0) of `{args.run}`, validation accuracy on "
          f"{len(run.splits.val)} sequences\n")
    print(f"- spread between the {args.calib_draws} calibration draws: "
          f"{100 * sampled.std(axis=0, ddof=1).mean():.2f} points (mean per-subnet sd)")
    for a, b in itertools.combinations(acc, 2):
        tau = rank_metrics(acc[a], acc[b])["kendall_tau"]
        print(f"- Kendall tau, {a} against {b}: {tau:.3f}")
    return 0


PARTS["calibration"] = (add_calibration_arguments, run_calibration)


def main(argv: list[str] | None = None) -> int:
    """Parse ``--part`` and the part's options, run it and return its exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", required=True, choices=[*sorted(PARTS), "all"],
                   help="which benchmark to run (all: every part in registration order)")
    for add_arguments, _ in PARTS.values():
        add_arguments(p)
    args = p.parse_args(argv)
    if args.part == "all":
        return max(run(args) for _, run in PARTS.values())
    return PARTS[args.part][1](args)


if __name__ == "__main__":
    sys.exit(main())
