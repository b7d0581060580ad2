"""``nasx profile``: measure subnets on this machine and fit the latency predictor.

    nasx profile [--device host-cpu] [--runtime onnxruntime|torch|pt2] [--samples N]
                 (--run R | --space S [--data D]) [--batch B] [--threads T] [--seed S]
                 [--length L] [--rounds R] [--warmup W] [--repeats K] [--statistic min|median]
                 [--out DIR] [--format table|json]

    nasx profile --device stm32f746 --run R [--samples N] [--seed S] [--format table|json]

With an MCU profile (``stm32f746``) the subnets of the trained run ``R`` are built for a
Cortex-M7 and run on QEMU (:mod:`nasx.export.mcu.mcu_profile`); the MCU cost model fitted to
them goes to ``R/predictors/device-<device>.yaml``, which ``nasx search`` on ``R`` uses.

Files: ``latency-<device>-<runtime>.json`` (the predictor) and
``latency-<device>-<runtime>-data.jsonl`` (the measurements, resumable) in ``R/predictors/``
with ``--run``, else in the user cache (``$NASX_CACHE_DIR``, else ``$XDG_CACHE_HOME/nasx``,
else ``~/.cache/nasx``), or in ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from nasx.cli import seed_type
from nasx.runs.layout import PREDICTORS_DIR

HOST_SAMPLES = 500
MCU_SAMPLES = 20  # each one is a cross-build and a QEMU run


def _int_at_least(least: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: give an integer >= {least}")
        return value
    return parse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nasx profile``."""
    p = subparsers.add_parser(
        "profile", help="measure subnet latency on this machine and fit a predictor",
        description="Measure the forward latency of sampled subnets on this machine (random "
        "weights, eval mode, inference mode, fixed threads, interleaved rounds), fit the "
        "per-unit latency predictor and report its error on held-out subnets.")
    p.add_argument("--device", default="host-cpu", metavar="NAME|PATH",
                   help="device to measure: host-cpu (this machine; default), or an MCU "
                   "profile such as stm32f746 (with --run: subnets built for a Cortex-M7 and "
                   "run on QEMU; fits the MCU cost model)")
    p.add_argument("--runtime", choices=("onnxruntime", "torch", "pt2", "c"), default=None,
                   help="what runs the subnets: onnxruntime (each subnet exported as model.onnx, "
                   "as nasx export writes it), torch (eager), pt2 (the torch.export program); "
                   "default: the device profile's runtime (onnxruntime on host-cpu)")
    p.add_argument("--samples", type=_int_at_least(1), default=None, metavar="N",
                   help="random subnets to measure, besides the largest and smallest (default "
                   "500; min(100, N // 4) of them are held out; 20 on an MCU, none held out)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", type=Path, metavar="R",
                     help="training run folder: its space.yaml and data; files go to R/predictors")
    src.add_argument("--space", metavar="S", help="search space preset or YAML file")
    p.add_argument("--data", default=None, metavar="D",
                   help="dataset giving channels, classes and length (with --space; default "
                   "japanese-vowels)")
    p.add_argument("--batch", type=_int_at_least(1), default=None, metavar="B",
                   help="sequences per forward call (default: the device profile's batch, 1)")
    p.add_argument("--threads", type=_int_at_least(1), default=1, metavar="T",
                   help="CPU threads of torch or onnxruntime (default 1)")
    p.add_argument("--seed", type=seed_type, default=0, metavar="S",
                   help="subnet sampling, weights, input, round order and hold-out (default 0)")
    p.add_argument("--length", type=_int_at_least(1), default=None, metavar="L",
                   help="input length (default: the data's longest sequence)")
    p.add_argument("--rounds", type=_int_at_least(1), default=10,
                   help="interleaved rounds over all subnets (default 10)")
    p.add_argument("--warmup", type=_int_at_least(0), default=2,
                   help="untimed calls per subnet and round (default 2)")
    p.add_argument("--repeats", type=_int_at_least(1), default=5,
                   help="timed calls per subnet and round (default 5)")
    p.add_argument("--statistic", choices=("min", "median"), default="min",
                   help="a subnet's latency from its pooled timed calls (default min: what a "
                   "shared machine reproduces)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="folder for the predictor and measurements (overrides the default)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.set_defaults(func=run, command_parser=p)


def _space_and_shape(args: argparse.Namespace) -> tuple[Any, int, int, int, str, str]:
    """``(space, channels, classes, max length, data name, data SHA-256)`` from ``--run`` or
    ``--space``."""
    from nasx.data import DEFAULT_DATASET, load_dataset
    from nasx.errors import NasxError
    from nasx.search_spaces import load_space

    if args.run is not None:
        from nasx.runs import CONFIG_FILE
        from nasx.runs.data_record import check_data_unchanged
        from nasx.runs.layout import SPACE_FILE
        from nasx.runs.readers import read_run_config

        if args.data is not None:
            raise NasxError("--data goes with --space; with --run the run's data is used")
        cfg_path, space_path = args.run / CONFIG_FILE, args.run / SPACE_FILE
        if not cfg_path.is_file() or not space_path.is_file():
            raise NasxError(f"'{args.run}' is not a nasx train run folder (no {CONFIG_FILE} and "
                            f"{SPACE_FILE}); give the --out folder of nasx train")
        cfg = read_run_config(args.run)
        space, name = load_space(space_path), cfg.data.name
        splits = load_dataset(name, val_fraction=cfg.data.val_fraction,
        val_sample=cfg.data.val_sample, seed=cfg.seed,
                              normalize=cfg.data.normalize)
        check_data_unchanged(args.run, name, splits.fingerprint)
    else:
        space, name = load_space(args.space), args.data or DEFAULT_DATASET
        splits = load_dataset(name)
    return (space, splits.channels, splits.num_classes, splits.max_length, name,
            splits.fingerprint["all"])


def run(args: argparse.Namespace) -> int:
    """Run ``nasx profile``."""
    import contextlib
    import sys

    from tqdm import tqdm

    from nasx.predictors import load_device
    from nasx.predictors.latency.model import cache_folder
    from nasx.predictors.latency.profile import holdout_count, measurable_torch_device
    from nasx.predictors.latency.profile import profile_latency as profile
    from nasx.predictors.latency.runtimes import check_runtime
    from nasx.runs import run_lock

    device = load_device(args.device)
    if args.samples is None:
        args.samples = MCU_SAMPLES if device.is_mcu else HOST_SAMPLES
    if device.is_mcu and "cortex-m7" in device.description.lower():  # QEMU's mps2-an500
        return _run_mcu(args, device)
    measurable_torch_device(device)  # refuse other devices before loading any data
    runtime = args.runtime or device.runtime
    check_runtime(runtime)
    batch = device.batch if args.batch is None else args.batch
    space, channels, classes, max_length, data_name, data_sha256 = _space_and_shape(args)
    length = args.length or max_length
    folder = args.out or (args.run / PREDICTORS_DIR if args.run is not None
                          else cache_folder(space, channels, classes, length))
    bar = tqdm(total=args.rounds * (args.samples + 2), desc="profile", unit="subnet",
               disable=not sys.stderr.isatty(), file=sys.stderr, dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    lock = run_lock(args.run, "profile") if args.run is not None else contextlib.nullcontext()
    try:
        with lock:
            report = profile(space, device=device, channels=channels, classes=classes,
                             length=length, folder=folder, samples=args.samples,
                             runtime=runtime, batch=batch,
                             threads=args.threads, warmup=args.warmup, repeats=args.repeats,
                             rounds=args.rounds, seed=args.seed, statistic=args.statistic,
                             data_sha256=data_sha256, progress=progress)
    finally:
        bar.close()
    held = report.holdout
    if args.format == "json":
        out = {"device": device.name, "runtime": runtime, "space": space.name,
               "data": data_name, "input": [batch, channels, length], "threads": args.threads,
               "rounds": args.rounds, "warmup": args.warmup, "repeats": args.repeats,
               "statistic": args.statistic, "subnets": args.samples + 2,
               "measured": report.measured, "reused": report.reused,
               "seconds": round(report.seconds, 3), "n_train": report.n_train,
               "n_holdout": holdout_count(args.samples), "holdout": held,
               "predictor": str(report.predictor_path), "data_file": str(report.data_path)}
        print(json.dumps(out, indent=2))
        return 0
    print(f"profiled {space.name} on {device.name} in {runtime}: input (batch {batch}, {channels} "
          f"channels, length {length}) from {data_name}, {args.threads} thread(s), "
          f"{args.rounds} rounds x ({args.warmup} warm-up + {args.repeats} timed) calls")
    print(f"  subnets    {args.samples + 2} ({args.samples} random + largest + smallest), "
          "random weights (latency does not depend on their values)")
    print(f"  measured   {report.measured} (subnet, round) pairs now, {report.reused} reused "
          f"from the file, {report.seconds:.1f} s")
    print(f"  predictor  per-unit lookup table (non-negative least squares on relative error), "
          f"latency = {args.statistic} of the timed calls, fitted on {report.n_train} subnets")
    if held:
        print(f"  held out   {held['n']} subnets: MAPE {held['mape']:.2f}%, within +-10% "
              f"{100 * held['within_10']:.1f}%, within +-5% {100 * held['within_5']:.1f}%, "
              f"max error {held['max_ape']:.1f}%")
    else:
        print("  held out   none (give --samples >= 4 to hold some out)")
    print(f"  saved      {report.predictor_path}")
    print(f"  data       {report.data_path}")
    return 0


def _run_mcu(args: argparse.Namespace, device: Any) -> int:
    """``nasx profile --device <mcu> --run R``: Cortex-M7 on QEMU, then the fit."""
    import sys

    from nasx.errors import NasxError
    from nasx.export.mcu.mcu_profile import profile_mcu
    from nasx.predictors.devices.mcu_fit import ASSUMED, MEASURED
    from nasx.runs import run_lock

    if args.run is None:
        raise NasxError(f"--device {device.name} profiles the subnets of a trained run on an "
                        "emulated Cortex-M7: give --run R (the folder of nasx train)")
    _space_and_shape(args)  # a run folder with unchanged data, or a one-line error

    def progress(done: int, total: int) -> None:
        if args.format == "table":
            print(f"\r  built and ran {done}/{total} subnets", end="", file=sys.stderr,
                  flush=True)

    with run_lock(args.run, "profile"):
        report = profile_mcu(args.run, device, samples=args.samples, seed=args.seed,
                             progress=progress)
    fit = report.fit
    if args.format == "json":
        print(json.dumps({"device": device.name, "subnets": len(report.rows),
                          "skipped": report.skipped, "measured": MEASURED,
                          "assumed": ASSUMED, "fit": dataclasses_asdict(fit),
                          "profile": str(report.profile_path),
                          "data_file": str(report.data_path),
                          "seconds": round(report.seconds, 3)}, indent=2))
        return 0
    print(f"\nprofiled {device.name}: {len(report.rows)} subnets built for a Cortex-M7 and run "
          f"on QEMU mps2-an500 ({report.skipped} skipped: untrained quantizers), length "
          f"{fit.length}, {report.seconds:.1f} s")
    print(f"  flash      measured = {fit.flash_scale:.4f} x weight bytes + "
          f"{fit.flash_offset_bytes / 1024:.1f} KB (ELF .text + .rodata + .data)")
    print(f"  SRAM       measured = {fit.sram_scale:.4f} x runtime arena peak + "
          f"{fit.sram_offset_bytes / 1024:.1f} KB (ELF .data + .bss + stack high-water)")
    print(f"  latency    instructions = {fit.latency_scale:.4f} x analytic cycles + "
          f"{fit.latency_offset_s * device.clock_hz:,.0f}; measured: {MEASURED}; assumed: "
          f"{ASSUMED} ({device.clock_hz / 1e6:g} MHz)")
    print(f"  saved      {report.profile_path} (nasx search on this run uses it)")
    print(f"  data       {report.data_path}")
    return 0


def dataclasses_asdict(obj: Any) -> dict[str, Any]:
    """``dataclasses.asdict`` (imported lazily)."""
    import dataclasses

    return dataclasses.asdict(obj)
