"""How nasx's cost grows with the data: peak memory and time of each stage at several sizes.

    python tools/bench_scale.py --work /tmp/scale --sizes 10000 100000 1000000 \
        --out runs/bench-scale.json

For each size N, :mod:`tools/make_synthetic.py` writes N sequences (40 channels, lengths
50-100, 12 classes, float32) as an ``npy:`` folder (20% carved for test, 20% of the rest for
validation), then each stage runs as its own process, timed (wall and CPU seconds) with its
peak resident memory (``ru_maxrss`` of that process, from ``os.wait4``):

- ``data``: writing the folder (``make_synthetic``);
- ``train``: ``nasx train`` for one epoch (batch 256; the monitored subnets validated and
  calibrated on 8 batches at its end), opening the data included;
- ``calibrate``: exact BatchNorm statistics of the largest subnet over the *whole* training
  split (``train.calib_batches: 0``, pooled over chunks of 256; ``--calibrate RUN``); the
  stage's own seconds are reported next to the process's;
- ``predictor``: ``nasx predictor fit`` on 50 subnets (40 + 10 held out), each calibrated on
  8 batches and validated on the fixed validation sample;
- ``search``: ``nasx search`` for stm32f746 (SRAM <= 256 KB), 2,000 evaluations, 5 subnets
  validated per round;
- ``export``: ``nasx export --format torch`` of the pick, checked on the validation sample and
  the whole test split.

The space (:data:`SPACE`, written next to the data) is small on purpose, so that an epoch over
a million sequences fits a 2-core machine: its stem has stride 2 and widths of 8-16 channels;
what grows with N is the data path, not the model. Validation uses a fixed sample of 2,000
sequences (``data.val_sample``). Prints one markdown table (stage x size, with the ratio of
each size's seconds to the smallest size's) and writes every figure to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parent
SPACE = """\
# bench_scale: a small hybrid space, so that one epoch over 10^6 sequences fits 2 CPU cores
name: scale-small
stem: {width: [8, 16], kernel: [3, 5], stride: [2]}
stages:
  - {depth: [1, 2], width: [8, 16], stride: 2, ops: [conv, lstm, attn]}
ops:
  conv: {kernel: [3, 5], expand: [1, 2]}
  lstm: {hidden: [0.5, 1.0]}
  attn: {heads: [1, 2], head_dim: 8, ffn: [1, 2]}
quant: {weight_bits: [8, 32], act_bits: [8, 32]}
head: {pool: mean, dropout: 0.0}
"""
TRAIN = ["train.epochs=1", "train.threads=1", "data.batch_size=256", "train.calib_batches=8",
         "train.eval_random=1", "train.eval_every=1", "refit.steps=0", "data.val_sample=2000",
         "data.normalize=channel", "data.augment.crop=1", "data.augment.scale=0",
         "data.augment.noise=0", "train.delay=0"]


def measure(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` to completion; its wall and CPU seconds and peak RSS (MiB)."""
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}); see {log}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def calibrate(run_dir: Path) -> None:
    """The ``calibrate`` stage, in this process: print the seconds of an exact whole-split
    BatchNorm calibration of the run's largest subnet."""
    from nasx.runs.trained import load_trained_run
    from nasx.search_spaces import largest_arch
    from nasx.train.bn_recal import WholeSplit, recalibrate_bn

    run = load_trained_run(run_dir)
    start = time.perf_counter()
    recalibrate_bn(run.net, largest_arch(run.space), WholeSplit(run.splits.train))
    print(json.dumps({"calibration_s": round(time.perf_counter() - start, 2),
                      "sequences": len(run.splits.train)}))


def bench_size(n: int, work: Path, keep: bool, *, stages: tuple[str, ...] = (),
               steps: int | None = None) -> dict[str, Any]:
    """The ``stages`` (all when empty) at ``n`` sequences; ``steps`` caps the training epoch
    (a memory check, not a time per epoch). An existing data folder is reused when ``data``
    is not among the stages."""
    stages = stages or STAGES
    data, run = work / f"syn{n}", work / f"run{n}"
    space = work / "scale-small.yaml"
    space.write_text(SPACE)
    nasx = [sys.executable, "-m", "nasx"]
    shutil.rmtree(run, ignore_errors=True)
    res: dict[str, Any] = {"n": n, "train_steps_cap": steps}
    if "data" in stages or not data.is_dir():
        shutil.rmtree(data, ignore_errors=True)
        res["data"] = measure([sys.executable, str(TOOLS / "make_synthetic.py"), "--out",
                               str(data), "--n", str(n)], work / f"data{n}.log")
    cap = [] if steps is None else [f"train.batches_per_epoch={steps}"]
    res["train"] = measure([*nasx, "train", "--data", f"npy:{data}", "--out", str(run),
                            "--space", str(space), *TRAIN, *cap], work / f"train{n}.log")
    if stages == ("train",):
        return res
    res["calibrate"] = measure([sys.executable, __file__, "--calibrate", str(run)],
                               work / f"calibrate{n}.log")
    res["calibrate"].update(json.loads((work / f"calibrate{n}.log").read_text().splitlines()[-1]))
    res["predictor"] = measure([*nasx, "predictor", "fit", "--run", str(run), "--samples", "40",
                                "--holdout", "10", "--model", "ridge"],
                               work / f"predictor{n}.log")
    res["search"] = measure([*nasx, "search", "--run", str(run), "--device", "stm32f746",
                             "--max-sram-kb", "256", "--evaluations", "2000", "--validate", "5"],
                            work / f"search{n}.log")
    res["export"] = measure([*nasx, "export", "--run", str(run), "--pick", "0", "--format",
                             "torch"], work / f"export{n}.log")
    if not keep:
        shutil.rmtree(data, ignore_errors=True)
    return res


STAGES = ("data", "train", "calibrate", "predictor", "search", "export")


def table(results: list[dict[str, Any]]) -> str:
    """Markdown: per stage and size, wall s, CPU s, peak RSS, and CPU s over the smallest's."""
    base = results[0]
    head = "| stage | " + " | ".join(f"{r['n']:,}: wall s / CPU s / peak RSS MiB / CPU ratio"
                                     for r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    for stage in STAGES:
        cells = []
        for r in results:
            if stage not in r:
                cells.append("not measured")
                continue
            s = r[stage]
            ratio = s["cpu_s"] / max(base[stage]["cpu_s"], 1e-9) if stage in base else 0
            extra = f" (calibration {s['calibration_s']} s)" if "calibration_s" in s else ""
            cells.append(f"{s['wall_s']} / {s['cpu_s']}{extra} / {s['peak_rss_mib']} / "
                         f"{ratio:.2f}x")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--calibrate``, the calibration stage)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, help="folder for the data and the runs")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--out", type=Path, help="JSON file for the figures")
    ap.add_argument("--keep", action="store_true", help="keep the data folders")
    ap.add_argument("--stages", nargs="+", choices=["data", "train"], default=[],
                    help="only these stages (default: all); without data, an existing data "
                         "folder in --work is reused")
    ap.add_argument("--steps", type=int, help="cap the training epoch at this many steps "
                                              "(a memory check)")
    ap.add_argument("--calibrate", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.calibrate is not None:
        calibrate(args.calibrate)
        return 0
    if args.work is None:
        ap.error("--work is required")
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for n in sorted(args.sizes):
        results.append(bench_size(n, args.work, args.keep, stages=tuple(args.stages),
                                  steps=args.steps))
        if args.out is not None:  # after every size: a long run keeps what it measured
            args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(json.dumps(results[-1]), flush=True)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
