"""The picks of finished benchmark runs, re-chosen by the noise-aware rule and refitted.

For each data set folder of a ``tools/bench_datasets.py`` output (``OUT/NAME/qs`` a finished
``nasx quickstart``), two pick sets from the search's ``pareto.json``:

- ``recorded``: each budget's pick as the search wrote it;
- ``noise-aware``: each budget's pick re-chosen from the same validated subnets by
  :func:`nasx.search.noise_pick.noise_aware_pick` with the run's accuracy predictor's noise floor
  (the accuracy rule; budget feasibility from the exact SRAM / flash costs and the measured or
  predicted latency in ``pareto.json``);
- ``loss-<K>se`` for each ``K`` of ``--se`` (default ``1,0``): re-chosen by
  :func:`nasx.search.noise_pick.loss_pick` (the cheapest within ``K`` paired standard errors of
  the lowest validation loss; ``K = 0`` the lowest loss), from each validated subnet's
  per-sequence validation losses (evaluated again here, BatchNorm recalibrated as the run says).

Each distinct pick is refitted by :func:`nasx.train.refit.refit_subnet` with the run's settings
(``--steps`` overrides ``refit.steps``; ``--seeds`` the seed the refit draws from), into a
scratch folder (the run's own ``refit/`` files are left alone), and scored on the test split,
with the supernet's test accuracy beside it. Test accuracy is reported only; it chooses nothing.

    python tools/bench_refit.py --out runs/bench3 --seeds 0,1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _meets(subnet: dict[str, Any], constraints: dict[str, float | None]) -> bool:
    """Whether a ``pareto.json`` subnet meets a budget: exact SRAM / flash, and the measured
    latency where it was measured, else the predicted one."""
    p = subnet["predicted"]
    latency = (subnet.get("validated") or {}).get("latency_ms") or p["latency_ms"]
    limits = (("sram_kb", p["sram_kb"]), ("flash_kb", p["flash_kb"]), ("latency_ms", latency))
    return all(constraints.get(key) is None or value <= constraints[key]  # type: ignore[operator]
               for key, value in limits)


def picks(doc: dict[str, Any], floor: float, losses: dict[int, np.ndarray] | None = None,
          se: tuple[float, ...] = (1.0, 0.0)) -> dict[str, dict[str, str | None]]:
    """Budget name -> ``{"recorded": id, "noise-aware": id}`` of a ``pareto.json`` document,
    and ``"loss-<K>se"`` ids for each ``K`` of ``se`` where ``losses`` (subnet index ->
    per-sequence validation losses) are given."""
    from nasx.search.noise_pick import loss_pick, noise_aware_pick

    subnets = doc["subnets"]
    out = {}
    for budget in doc["budgets"]:
        rows = [s["index"] for s in subnets
                if s.get("validated") and s["device"] == budget["device"]]
        meets = np.zeros(len(subnets), dtype=bool)
        for r in rows:
            meets[r] = _meets(subnets[r], budget["constraints"])
        acc = {r: subnets[r]["validated"]["accuracy"] for r in rows}
        latency = {r: (subnets[r]["validated"].get("latency_ms")
                       or subnets[r]["predicted"]["latency_ms"]) for r in rows}
        pick = noise_aware_pick(acc, latency, meets, floor, budget["best"])
        recorded = budget["best"]
        chosen = {"recorded": recorded, "noise-aware": pick.row}
        if losses is not None:
            mean = {r: float(losses[r].astype(np.float64).mean()) for r in rows}
            per = {r: losses[r] for r in rows}
            for k in se:
                chosen[f"loss-{k:g}se"] = loss_pick(per, mean, acc, latency, meets, recorded,
                                                    k).row
        out[budget["name"]] = {k: None if r is None else subnets[r]["id"]
                               for k, r in chosen.items()}
    return out


def validation_losses(run: Any, doc: dict[str, Any]) -> dict[int, np.ndarray]:
    """Subnet index -> per-sequence validation losses ``(n,)`` of every validated subnet of
    ``doc`` (BatchNorm recalibrated as the run's search measured them)."""
    from nasx.train.evaluate import calibration_batches, evaluate_subnets

    cfg = run.cfg
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, "cpu")
    rows = [s["index"] for s in doc["subnets"] if s.get("validated")]
    evals = evaluate_subnets(run.net, [(str(r), doc["subnets"][r]["arch"]) for r in rows],
                             run.splits.val, calib)
    return {r: e.losses for r, e in zip(rows, evals, strict=True) if e.losses is not None}


def score(run: Any, doc: dict[str, Any], ids: set[str], steps: int | None, seeds: list[int]
          ) -> dict[str, dict[str, Any]]:
    """Test accuracy of each subnet id of the loaded run (a ``TrainedRun``) and its
    ``pareto.json`` document ``doc``: on the supernet and after the refit with each seed."""
    from nasx.export.metrics import accuracy, batched_logits
    from nasx.train.evaluate import calibration_batches, evaluate_subnets
    from nasx.train.refit import refit_subnet

    archs = {s["id"]: s["arch"] for s in doc["subnets"] if s["id"] in ids}
    cfg, test = run.cfg, run.splits.test
    refit = cfg.refit if steps is None else dataclasses.replace(cfg.refit, steps=steps)
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, "cpu")
    supernet = evaluate_subnets(run.net, list(archs.items()), test, calib)
    out: dict[str, dict[str, Any]] = {i: {"supernet": e.accuracy, "refit": []}
           for i, e in zip(archs, supernet, strict=True)}
    with tempfile.TemporaryDirectory() as scratch:
        for seed in seeds:
            (Path(scratch) / str(seed)).mkdir()
            seeded = dataclasses.replace(run, run_dir=Path(scratch) / str(seed),
                                         cfg=dataclasses.replace(cfg, seed=seed, refit=refit))
            for i, arch in archs.items():
                r = refit_subnet(seeded, arch, say=lambda _line: None)
                out[i]["refit"].append(accuracy(batched_logits(r.net, test), test.y))
    return out


def main(argv: list[str] | None = None) -> int:
    """Score the picks of every data set folder under ``--out`` and print the table."""
    from nasx.predictors.accuracy.fit import load_run_predictor
    from nasx.runs.trained import load_trained_run
    from nasx.search.noise_pick import noise_floor

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="a tools/bench_datasets.py folder")
    p.add_argument("--datasets", default="", help="comma-separated folder names (default: all)")
    p.add_argument("--seeds", default="0", help="comma-separated refit seeds")
    p.add_argument("--steps", type=int, default=None, help="refit steps (default: the run's)")
    p.add_argument("--se", default="1,0", help="comma-separated standard-error multiples of "
                   "the loss rule")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.datasets.split(",") if args.datasets else sorted(
        d.name for d in args.out.iterdir() if (d / "qs" / "search" / "pareto.json").is_file())
    print("| data set | budget | pick rule | subnet | supernet test | refit test (mean of "
          f"seeds {args.seeds}) |\n|---|---|---|---|---:|---:|")
    means: dict[str, list[float]] = {}
    for name in names:
        qs = args.out / name / "qs"
        run = load_trained_run(qs)
        predictor = load_run_predictor(qs, run.space)
        floor = noise_floor(predictor) if predictor is not None else 0.0
        doc = json.loads((qs / "search" / "pareto.json").read_text())
        chosen = picks(doc, floor, validation_losses(run, doc),
                       tuple(float(k) for k in args.se.split(",")))
        ids = {i for b in chosen.values() for i in b.values() if i is not None}
        scores = score(run, doc, ids, args.steps, seeds)
        for budget, rule_ids in chosen.items():
            for rule, i in rule_ids.items():
                if i is None:
                    continue
                s = scores[i]
                refit = statistics.mean(s["refit"])
                means.setdefault(rule, []).append(refit)
                means.setdefault(f"{rule} (supernet)", []).append(s["supernet"])
                print(f"| {name} | {budget} | {rule} (floor {100 * floor:.1f}) | `{i}` | "
                      f"{100 * s['supernet']:.1f} | {100 * refit:.1f} |")
    print()
    for rule, values in means.items():
        print(f"mean over the {len(values)} budget picks, {rule}: "
              f"{100 * statistics.mean(values):.2f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
