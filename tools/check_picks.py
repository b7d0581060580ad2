"""Check that every budget's pick in ``pareto.json`` follows the noise-aware rule, and run the
demo search over several seeds to check it there.

The rule (:mod:`nasx.search.noise_pick`): among the validated subnets of the budget's device that
meet the budget (predicted costs within its limits, and a measured latency within its latency
limit), the pick is the one with the lowest latency (measured where measured) among the
candidates: with ``signal: loss``, those whose validation loss is at most ``se_multiple``
recorded paired standard errors above the lowest validation loss; with ``signal: accuracy``,
those whose validated accuracy is within ``noise_floor`` of the best validated accuracy.

Usage::

    .venv/bin/python tools/check_picks.py --pareto runs/quickstart/search/pareto.json
    .venv/bin/python tools/check_picks.py --run runs/quickstart --seeds 10 [--runtime torch]

The second form searches the trained run again with seeds 0..N-1 (the demo's settings: the
``nasx quickstart`` budgets and sizes), checks each ``pareto.json`` and prints one line per
(seed, budget); it exits 1 when a pick breaks the rule.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TOLERANCE = 1e-12


def _latency(s: dict[str, Any]) -> float:
    v = s.get("validated") or {}
    return v["latency_ms"] if v.get("latency_ms") is not None else s["predicted"]["latency_ms"]


def _meets(s: dict[str, Any], limits: dict[str, float | None]) -> bool:
    p, v = s["predicted"], s.get("validated") or {}
    ok = all(limits.get(k) is None or p[k] <= limits[k] for k in ("latency_ms", "sram_kb",
                                                                   "flash_kb"))
    measured = v.get("latency_ms")
    return ok and (limits.get("latency_ms") is None or measured is None
                   or measured <= limits["latency_ms"])


def _within(name: str, pick: dict[str, Any], ok: list[dict[str, Any]]
            ) -> tuple[list[dict[str, Any]], list[str]]:
    """The subnets of ``ok`` the rule counts as within the noise of the best, and what is
    wrong with the recorded best."""
    if pick.get("signal") == "loss":
        best_loss = min(s["validated"]["loss"] for s in ok)
        gaps = {g["index"]: g for g in pick["loss_gaps"]}
        problems = [] if abs(pick["best_validated_loss"] - best_loss) <= TOLERANCE else [
            f"{name}: lowest validation loss {best_loss} but the pick says "
            f"{pick['best_validated_loss']}"]
        for s in ok:
            g = gaps.get(s["index"])
            if g is None or abs(g["gap"] - (s["validated"]["loss"] - best_loss)) > 1e-9:
                problems.append(f"{name}: subnet #{s['index']}'s recorded loss gap is not its "
                                "validation loss minus the lowest")
        k = pick["se_multiple"]
        return [s for s in ok if s["index"] in gaps and gaps[s["index"]]["gap"]
                <= k * gaps[s["index"]]["se"] + TOLERANCE], problems
    best = max(s["validated"]["accuracy"] for s in ok)
    floor = pick["noise_floor"]
    problems = [] if abs(pick["best_validated_accuracy"] - best) <= TOLERANCE else [
        f"{name}: best validated {best} but the pick says {pick['best_validated_accuracy']}"]
    return [s for s in ok if s["validated"]["accuracy"] >= best - floor - TOLERANCE], problems


def pick_problems(doc: dict[str, Any]) -> list[str]:
    """What is wrong with each budget's pick in the ``pareto.json`` document ``doc`` (empty:
    every pick is the cheapest validated subnet within the noise floor of the best)."""
    problems = []
    subnets = doc["subnets"]
    for b in doc["budgets"]:
        pick = b.get("pick")
        if pick is None:
            problems.append(f"{b['name']}: no 'pick' record")
            continue
        ok = [s for s in subnets if s["device"] == b["device"] and s["validated"] is not None
              and _meets(s, b["constraints"])]
        if not ok:
            if pick["best_validated_accuracy"] is not None:
                problems.append(f"{b['name']}: no validated subnet meets it, yet a best "
                                "validated accuracy is recorded")
            continue
        within, problem = _within(b["name"], pick, ok)
        problems += problem
        cheapest = min(_latency(s) for s in within)
        chosen = subnets[b["best"]]
        if chosen not in within:
            problems.append(f"{b['name']}: pick #{b['best']} is not among the candidates within "
                            "the noise of the best")
        elif _latency(chosen) > cheapest:
            problems.append(f"{b['name']}: pick #{b['best']} runs {_latency(chosen)} ms, but "
                            f"a candidate runs {cheapest} ms")
        if sorted(pick["candidates"]) != sorted(s["index"] for s in within):
            problems.append(f"{b['name']}: candidates {pick['candidates']} are not the "
                            f"validated subnets within the noise {[s['index'] for s in within]}")
    return problems


def _summary(doc: dict[str, Any]) -> list[str]:
    out = []
    for b in doc["budgets"]:
        s, pick = doc["subnets"][b["best"]], b["pick"]
        if pick.get("signal") == "loss":
            out.append(f"{b['name']}: pick {s['id']} validated loss {s['validated']['loss']:.4f} "
                       f"at {_latency(s):.4g} ms, {len(pick['candidates'])} candidates within "
                       f"{pick['se_multiple']:g} se of {pick['best_validated_loss']:.4f}")
            continue
        out.append(f"{b['name']}: pick {s['id']} validated {100 * s['validated']['accuracy']:.2f}% "
                   f"at {_latency(s):.4g} ms, {len(pick['candidates'])} candidates within "
                   f"{100 * pick['noise_floor']:.2f} points of "
                   f"{100 * pick['best_validated_accuracy']:.2f}%")
    return out


def main(argv: list[str] | None = None) -> int:
    """Check one ``pareto.json`` or search a run over several seeds and check each."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--pareto", type=Path, help="a pareto.json to check")
    src.add_argument("--run", type=Path, help="a trained run to search with each seed")
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (with --run)")
    p.add_argument("--runtime", default=None, help="host-cpu runtime (default: the profile's)")
    p.add_argument("--budgets", default=None, help="budgets (default: the demo's)")
    args = p.parse_args(argv)
    if args.pareto is not None:
        docs = {"-": json.loads(args.pareto.read_text())}
    else:
        docs = _search_seeds(args)
    bad = 0
    for seed, doc in docs.items():
        problems = pick_problems(doc)
        bad += len(problems)
        for line in problems or _summary(doc):
            print(f"seed {seed}: {'PROBLEM ' if problems else ''}{line}")
    print(f"{len(docs)} searches, {bad} problems")
    return 1 if bad else 0


def _search_seeds(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    from nasx.quickstart import HOST, MCU_BUDGET, PipelineSettings, host_budget
    from nasx.runs.trained import load_trained_run
    from nasx.search.api import search_run
    from nasx.search.runner import SearchSettings

    s = PipelineSettings()
    run = load_trained_run(args.run)
    if args.budgets is None:
        from nasx.predictors import load_device

        runtime = args.runtime or load_device(HOST).runtime
        args.budgets = f"{MCU_BUDGET}; {host_budget(run, s.host_fraction, runtime=runtime)}"
    docs = {}
    for seed in range(args.seeds):
        settings = SearchSettings(evaluations=s.evaluations, rounds=s.search_rounds,
                                  validate=s.validate, seed=seed,
                                  predictor_samples=s.predictor_samples,
                                  predictor_holdout=s.predictor_holdout, progress=False)
        result = search_run(args.run, settings, budgets=args.budgets, runtime=args.runtime,
                            overwrite=True, log=lambda _line: None)
        docs[str(seed)] = result.document
    return docs


if __name__ == "__main__":
    sys.exit(main())
