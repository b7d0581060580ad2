"""``nasx quickstart``: the main job on the embedded default data (JapaneseVowels).

    nasx quickstart [--out runs/quickstart] [--space SPACE] [--data NAME]
                    [--overwrite | --resume] [--archs N] [--until STAGE] [--budgets SPEC]
                    [--runtime onnxruntime|torch|pt2] [--profile-samples N]
                    [--predictor-samples N] [--evaluations N]
                    [--config PATH] [--print-config] [key=value ...]

Train -> host-cpu latency profile -> accuracy predictor -> search (stm32f746 and host-cpu
budgets) -> export of each budget's best subnet; see :mod:`nasx.quickstart`.

The config resolves as for ``nasx train`` (with ``--resume``: the run's saved config.yaml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nasx.cli import print_config
from nasx.quickstart import STAGES, PipelineSettings
from nasx.runs.layout import TB_DIR


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx quickstart``."""
    p = subparsers.add_parser(
        "quickstart", help="train, profile, fit predictors, search and export, end to end",
        description="The whole pipeline on the embedded default data, into one run folder: "
        "train the hybrid-mcu supernet on JapaneseVowels (as nasx train), report the largest, "
        "the smallest and N random subnets (accuracy after BatchNorm recalibration, extracted "
        "module checked against the supernet), measure this machine's latency predictor (nasx "
        "profile), fit the accuracy predictor (nasx predictor fit), search for stm32f746 "
        "(SRAM <= 256 KB, flash <= 1 MB) and host-cpu (latency half-way between the fastest "
        "and the largest subnet's) "
        "(nasx search) and export each budget's best subnet (nasx export).")
    from nasx.cli.train_cmd import add_run_arguments

    p.add_argument("--out", type=Path, default=Path("runs/quickstart"),
                   help="run folder (default: %(default)s)")
    p.add_argument("--archs", type=int, default=5, metavar="N",
                   help="random subnets to report (default: %(default)s)")
    p.add_argument("--until", choices=STAGES, default="export",
                   help="stop after this stage (default: export, the whole pipeline)")
    p.add_argument("--budgets", metavar="SPEC",
                   help="budgets as for nasx search (default: 'stm32f746: sram<=256KB, "
                   "flash<=1MB; host-cpu: latency<=X ms' with X half-way between the fastest "
                   "and the largest subnet's predicted host latency)")
    p.add_argument("--runtime", choices=("onnxruntime", "torch", "pt2"), default=None,
                   help="what the host-cpu latency is profiled, searched and measured in "
                   "(default: the host-cpu profile's, onnxruntime)")
    p.add_argument("--profile-samples", type=int, default=PipelineSettings.profile_samples,
                   metavar="N", help="subnets measured for the host-cpu latency predictor "
                   "(default: %(default)s)")
    p.add_argument("--predictor-samples", type=int,
                   default=PipelineSettings.predictor_samples, metavar="N",
                   help="evaluated subnets the accuracy predictor is fitted on (default: "
                   "%(default)s)")
    p.add_argument("--evaluations", type=int, default=PipelineSettings.evaluations,
                   metavar="N", help="search evaluations per device and round (default: "
                   "%(default)s)")
    p.add_argument("--no-prefetch", dest="prefetch", action="store_false",
                   help="export the onnxruntime profile's graphs in the profile stage only "
                   "(default: a child process exports them on a spare core while the supernet "
                   "trains)")
    add_run_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the quickstart and print its tables."""
    from nasx.cli.train_cmd import resolve_train_config
    from nasx.errors import NasxError
    from nasx.quickstart import run_quickstart

    cfg = resolve_train_config(args)
    if args.print_config:
        print_config(cfg)
        return 0
    for flag, value, least in (("--archs", args.archs, 0),
                               ("--profile-samples", args.profile_samples, 4),
                               ("--predictor-samples", args.predictor_samples, 10),
                               ("--evaluations", args.evaluations, 100)):
        if value < least:
            raise NasxError(f"{flag} {value}: give an integer >= {least}")
    settings = PipelineSettings(until=args.until, budgets=args.budgets, runtime=args.runtime,
                                profile_samples=args.profile_samples,
                                predictor_samples=args.predictor_samples,
                                evaluations=args.evaluations, progress=sys.stderr.isatty(),
                                prefetch=args.prefetch)
    if args.budgets is not None:  # a malformed or impossible budget fails before training
        from nasx.search.api import check_budgets_before_training

        check_budgets_before_training(cfg, args.budgets)
    result = run_quickstart(cfg, args.out, overwrite=args.overwrite, resume=args.resume,
                            n_random=args.archs, settings=settings,
                            log=lambda line: print(line, flush=True))
    print(f"\nsupernet: space {cfg.space}, data {cfg.data.name}, trained in "
          f"{result.train_seconds:.0f} s; run folder {result.run_dir}")
    print(f"{'subnet':<10} {'arch id':<13} {'params':>8} {'val acc':>8} {'test acc':>8} "
          f"{'max |diff|':>11}  arch")
    for r in result.reports:
        print(f"{r.name:<10} {r.arch_id:<13} {r.params:>8,} {r.val_accuracy:>8.4f} "
              f"{r.test_accuracy:>8.4f} {r.max_abs_diff:>11.2e}  {r.summary}")
    worst = max(r.max_abs_diff for r in result.reports)
    ok = worst <= 1e-5
    print(f"extracted subnets {'match' if ok else 'DO NOT match'} the supernet on the validation "
          f"split (worst max |diff| {worst:.2e})")
    if result.budgets:
        refit = max(b.refit_steps for b in result.budgets)
        print(f"\nbest subnet per budget (refitted for {refit} steps on train + val, exported, "
              "every format verified against it; val acc: the supernet's, which chose it; "
              "test acc: the exported model's):" if refit else
              "\nbest subnet per budget (exported, verified against the supernet):")
        print(f"{'budget':<38} {'arch id':<13} {'val acc':>8} {'test acc':>8} "
              f"{'latency ms':>10} {'onnxrt ms':>9} {'SRAM KB':>8} {'flash KB':>9}  export")
        for b in result.budgets:
            onnx = f"{b.onnx_ms:.3f}" if b.onnx_ms is not None else "-"
            print(f"{b.budget:<38} {b.arch_id:<13} {b.val_accuracy:>8.4f} "
                  f"{b.test_accuracy:>8.4f} {b.latency_ms:>10.3f} {onnx:>9} "
                  f"{b.sram_kb:>8.1f} {b.flash_kb:>9.1f}  {b.folder}")
            print(f"{'':<38} {b.summary}  (latency: {b.latency_label})")
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in result.stage_seconds.items())
    print(f"{result.seconds:.0f} s in all ({stages})")
    if "search" in result.stage_seconds:
        print(f"nasx inspect --run {result.run_dir}")
    print(f"tensorboard --logdir {result.run_dir / TB_DIR}")
    return 0 if ok else 1
