"""Side by side on a suite of data sets: nasx with defaults only against MiniRocket.

For each data set, in one run of this script:

- ``quickstart``: ``nasx quickstart --data NAME --out OUT/NAME/qs`` with no other flag (the
  data-aware recipe decides everything), timed; then the test accuracy of the best validated
  subnet overall (the lowest validation loss the search measured, the signal the picks rank
  by; in runs whose pareto.json has no losses, the highest validation accuracy, ties: the
  higher predicted accuracy), of the stm32f746 pick (<= 256 KB SRAM, <= 1 MB flash) and of
  the host-cpu pick: of the model the export holds (refitted on train + val where the recipe
  refits) and, in parentheses in the table, of the supernet's weights before the refit;
- ``minirocket``: aeon's ``MiniRocketClassifier`` with ``random_state`` 0, 1, 2 on the whole
  training split (unequal lengths zero-padded at the end to the longest sequence), timed;
- ``standalone``: the quickstart's largest subnet trained alone (``nasx train`` with the
  quickstart's resolved config and ``train.arch``), timed, and its test accuracy;
- ``standalone-picks`` (not in the default parts): the stm32f746 and host-cpu picks trained
  alone, for the one-shot-against-standalone gap.

Every part writes ``OUT/NAME/<part>.json`` when it finishes; a rerun skips what is done, so the
script resumes per data set and part. ``--markdown`` prints the table for BENCHMARKS.md.

    python tools/bench_datasets.py --out runs/bench-datasets
    python tools/bench_datasets.py --out runs/bench-datasets --datasets ucr:GunPoint \\
        --parts quickstart,minirocket --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

SUITE = ("japanese-vowels", "ucr:OSULeaf", "ucr:ArrowHead", "ucr:BasicMotions", "ucr:GunPoint",
         "ucr:ItalyPowerDemand", "ucr:PickupGestureWiimoteZ")
PARTS = ("quickstart", "minirocket", "standalone", "standalone-picks")
DEFAULT_PARTS = ("quickstart", "minirocket", "standalone")
NASX = [sys.executable, "-m", "nasx"]


def folder_name(dataset: str) -> str:
    """A file-system name for a data set name (``ucr:GunPoint`` -> ``GunPoint``)."""
    return dataset.split(":", 1)[-1].replace("/", "_")


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` with its output in ``log``; return its wall and CPU seconds (the CPU time
    is steadier on a shared machine) and whether it resumed; raise on failure."""
    t0, c0 = time.perf_counter(), _child_cpu()
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}); see {log}")
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": _child_cpu() - c0,
            "resumed": "--resume" in cmd}


def _test_accuracy(run_dir: Path, archs: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Test accuracy of ``archs``: ``supernet`` on the run's supernet (BatchNorm recalibrated)
    and ``final`` of what the export holds (the refit where the run's ``refit.steps`` is above
    0, made now or reused from ``<run>/refit/``), with the refit's seconds."""
    from nasx.export.metrics import accuracy, batched_logits
    from nasx.runs.trained import load_trained_run
    from nasx.train.evaluate import calibration_batches, evaluate_subnets
    from nasx.train.refit import refit_subnet

    run = load_trained_run(run_dir)
    cfg, test = run.cfg, run.splits.test
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, next(run.net.parameters()).device)
    named = [(f"a{i}", a) for i, a in enumerate(archs)]
    out = [{"supernet": e.accuracy, "final": e.accuracy, "refit_seconds": 0.0,
            "refit_cpu_seconds": 0.0} for e in evaluate_subnets(run.net, named, test, calib)]
    if int(cfg.refit.steps) > 0:
        for o, arch in zip(out, archs, strict=True):
            c0 = time.process_time()
            r = refit_subnet(run, arch, say=lambda _line: None)
            o["final"] = accuracy(batched_logits(r.net, test), test.y)
            o["refit_seconds"] = r.seconds
            o["refit_cpu_seconds"] = time.process_time() - c0 if not r.reused else 0.0
    return out


def _picks(doc: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """The pareto.json entry of the best validated subnet overall and of each device's pick."""
    validated = [s for s in doc["subnets"] if s.get("validated")]
    if validated and all(s["validated"].get("loss") is not None for s in validated):
        best = min(validated, key=lambda s: (s["validated"]["loss"], s["index"]))
    else:
        best = max(validated, key=lambda s: (s["validated"]["accuracy"],
                                              s["predicted"]["accuracy"]), default=None)
    out: dict[str, dict[str, Any] | None] = {"best": best}
    for b in doc["budgets"]:
        out[b["device"]] = doc["subnets"][b["best"]] if b["best"] is not None else None
    return out


def part_quickstart(name: str, folder: Path) -> dict[str, Any]:
    """``nasx quickstart`` with defaults only, then the picks' test accuracies."""
    qs = folder / "qs"
    flag = ["--resume"] if (qs / "config.yaml").is_file() else []
    timing = _run([*NASX, "quickstart", "--data", name, "--out", str(qs), *flag],
                  folder / "quickstart.log")
    return {**timing, **score_quickstart(qs)}


def score_quickstart(qs: Path) -> dict[str, Any]:
    """The resolved config and the picks' validation and test accuracies of a finished
    quickstart folder (no training, no search)."""
    doc = json.loads((qs / "search" / "pareto.json").read_text())
    picks = _picks(doc)
    keys = [k for k, v in picks.items() if v is not None]
    accs = _test_accuracy(qs, [picks[k]["arch"] for k in keys])  # type: ignore[index]
    import yaml

    cfg = yaml.safe_load((qs / "config.yaml").read_text())
    return {"config": cfg, "refit_seconds": sum(a["refit_seconds"] for a in accs),
            "refit_cpu_seconds": sum(a["refit_cpu_seconds"] for a in accs),
            "picks": {k: {"id": picks[k]["id"], "val": picks[k]["validated"]["accuracy"],  # type: ignore[index]
                          "test": a["final"], "test_supernet": a["supernet"]}
                      for k, a in zip(keys, accs, strict=True)}}


def _padded(x: Any, length: int) -> np.ndarray:
    """aeon data (an array or a list of (C, L_i) arrays) as (N, C, length), zero-padded."""
    if isinstance(x, np.ndarray):
        return x.astype(np.float64)
    out = np.zeros((len(x), x[0].shape[0], length))
    for i, s in enumerate(x):
        out[i, :, : s.shape[1]] = s
    return out


def part_minirocket(name: str, folder: Path) -> dict[str, Any]:
    """MiniRocket (aeon), random_state 0..2, on the data set's own train/test split."""
    from aeon.classification.convolution_based import MiniRocketClassifier
    from aeon.datasets import load_classification

    aeon_name = "JapaneseVowels" if name == "japanese-vowels" else name.split(":", 1)[1]
    x_tr, y_tr = load_classification(aeon_name, split="train")
    x_te, y_te = load_classification(aeon_name, split="test")
    longest = max(s.shape[-1] for s in [*x_tr, *x_te])
    x_tr, x_te = _padded(x_tr, longest), _padded(x_te, longest)
    runs = []
    for seed in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        clf = MiniRocketClassifier(random_state=seed, n_jobs=1)
        clf.fit(x_tr, y_tr)
        acc = float(np.mean(clf.predict(x_te) == y_te))
        runs.append({"seed": seed, "test": acc, "seconds": time.perf_counter() - t0,
                     "cpu_seconds": time.process_time() - c0})
    return {"runs": runs, "test": statistics.mean(r["test"] for r in runs),
            "seconds": statistics.median(r["seconds"] for r in runs),
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs)}


def _standalone(folder: Path, label: str, arch: dict[str, Any]) -> dict[str, Any]:
    """Train ``arch`` alone with the quickstart's resolved config; its test accuracy."""
    out = folder / f"alone-{label}"
    arch_file = folder / f"alone-{label}.arch.json"
    arch_file.write_text(json.dumps(arch))
    flag = ["--resume"] if (out / "config.yaml").is_file() else []
    timing = _run([*NASX, "train", "--out", str(out), *flag,
                    *([] if flag else ["--config", str(folder / "qs" / "config.yaml"),
                                       f"train.arch={arch_file}"])],
                   folder / f"alone-{label}.log")
    from nasx.runs.trained import load_trained_run
    from nasx.train.run_eval import evaluate_run

    (test,) = evaluate_run(load_trained_run(out), ["standalone"], "test")
    return {**timing, "test": test.accuracy}


def part_standalone(name: str, folder: Path) -> dict[str, Any]:
    """The quickstart's largest subnet trained alone."""
    archs = json.loads((folder / "qs" / "archs.json").read_text())
    return _standalone(folder, "largest", archs["largest"]["arch"])


def part_standalone_picks(name: str, folder: Path) -> dict[str, Any]:
    """The stm32f746 and host-cpu picks trained alone."""
    doc = json.loads((folder / "qs" / "search" / "pareto.json").read_text())
    return {k: _standalone(folder, k, v["arch"])
            for k, v in _picks(doc).items() if k != "best" and v is not None}


RUNNERS = {"quickstart": part_quickstart, "minirocket": part_minirocket,
           "standalone": part_standalone, "standalone-picks": part_standalone_picks}


def _cell(result: dict[str, Any], *keys: str) -> str:
    try:
        for k in keys:
            result = result[k]
    except (KeyError, TypeError):
        return "-"
    return f"{100 * result:.1f}" if isinstance(result, float) and result <= 1 else f"{result:.0f}"


def markdown(out: Path, datasets: list[str]) -> str:
    """The results table: one row per data set and the suite means over the rows that have
    nasx's three figures and MiniRocket's (the standalone column over those that have it)."""
    head = ("| data set | best validated | stm32f746 pick | host-cpu pick | MiniRocket "
            "(mean of 3) | largest alone | nasx s (CPU s) | MiniRocket s | alone s (CPU s) |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    rows, cols = [], {k: [] for k in ("best", "stm32f746", "host-cpu", "mr", "alone")}
    for name in datasets:
        r = {p: _load(out / folder_name(name) / f"{p}.json") for p in PARTS}
        q, m, a = r["quickstart"] or {}, r["minirocket"] or {}, r["standalone"] or {}
        vals = {"best": _get(q, "picks", "best", "test"),
                "stm32f746": _get(q, "picks", "stm32f746", "test"),
                "host-cpu": _get(q, "picks", "host-cpu", "test"), "mr": m.get("test"),
                "alone": a.get("test")}
        if all(vals[k] is not None for k in ("best", "stm32f746", "host-cpu", "mr")):
            for k, v in vals.items():
                cols[k].append(v)  # "alone" may be None: averaged over the rows that have it
        before = {k: _get(q, "picks", k, "test_supernet") for k in ("best", "stm32f746",
                                                                    "host-cpu")}
        cells = [_fmt(vals[k]) + _before(vals[k], before.get(k))
                 for k in ("best", "stm32f746", "host-cpu", "mr", "alone")]
        times = [_fmt_time(q), _fmt_s(m.get("seconds")), _fmt_time(a)]
        rows.append(f"| {name} | " + " | ".join(cells + times) + " |")
    n = len(cols["best"])
    if n:
        means = [_fmt(_mean([v for v in cols[k] if v is not None])) for k in cols]
        rows.append(f"| **mean of {n} complete rows** | " + " | ".join(means) + " | | | |")
    return head + "\n".join(rows) + "\n"


def _mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def _get(d: dict[str, Any], *keys: str) -> float | None:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d  # type: ignore[return-value]


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _before(after: float | None, before: float | None) -> str:
    """`` (x)``: the accuracy before the refit, where there was one that changed it."""
    return "" if before is None or after is None or before == after else f" ({_fmt(before)})"


def _fmt_s(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"


def _fmt_time(r: dict[str, Any]) -> str:
    """Wall seconds (CPU seconds), or "-"; a resumed run says so (its time is partial); a
    refit made when the picks were scored (``--rescore`` of a run from before refits) adds its
    seconds to both."""
    if r.get("seconds") is None:
        return "-"
    extra, extra_cpu = r.get("refit_seconds") or 0.0, r.get("refit_cpu_seconds") or 0.0
    cpu = f" ({r['cpu_seconds'] + extra_cpu:.0f})" if r.get("cpu_seconds") is not None else ""
    return f"{r['seconds'] + extra:.0f}{cpu}" + (" resumed" if r.get("resumed") else "")


def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    """Run the missing parts for each data set, then print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/bench-datasets"))
    p.add_argument("--datasets", default=",".join(SUITE), help="comma-separated nasx data names")
    p.add_argument("--parts", default=",".join(DEFAULT_PARTS),
                   help=f"comma-separated, from {', '.join(PARTS)}")
    p.add_argument("--markdown", action="store_true", help="only print the table")
    p.add_argument("--rescore", action="store_true",
                   help="recompute the picks of finished quickstart folders (keeps the timing)")
    args = p.parse_args(argv)
    datasets = [d for d in args.datasets.split(",") if d]
    parts = [x for x in args.parts.split(",") if x]
    bad = [x for x in parts if x not in PARTS]
    if bad:
        p.error(f"unknown part {bad[0]!r}; choose from {', '.join(PARTS)}")
    if args.rescore:
        for name in datasets:
            folder = args.out / folder_name(name)
            if (folder / "qs" / "search" / "pareto.json").is_file():
                path = folder / "quickstart.json"
                timing = {k: v for k, v in (_load(path) or {}).items()
                          if k in ("seconds", "cpu_seconds", "resumed")}
                path.write_text(json.dumps({**timing, **score_quickstart(folder / "qs")},
                                           indent=1))
    elif not args.markdown:
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
        for name in datasets:
            folder = args.out / folder_name(name)
            folder.mkdir(parents=True, exist_ok=True)
            for part in parts:
                path = folder / f"{part}.json"
                if path.is_file():
                    continue
                print(f"{name}: {part} ...", flush=True)
                result = RUNNERS[part](name, folder)
                path.write_text(json.dumps(result, indent=1))
                print(f"{name}: {part} done", flush=True)
    print(markdown(args.out, datasets), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
