"""Deployed subnets end to end: raw data through every format, the C runtime on the host and on
an emulated Cortex-M7, and the MCU cost model against what the Cortex-M7 ELF measures.

For the run's picks (each budget's best subnet in ``search/pareto.json``: the quickstart picks
when the run is a quickstart), the largest, smallest and ``--subnets`` random subnets of a
trained run (seeded):

1. the supernet subnet after BatchNorm recalibration on the run's normalised test split (what
   ``nasx eval --split test`` reports) against the exported module, pt2 and ONNX on the *raw*
   test split (``--graph N``: pt2/ONNX for the first N subnets; they take seconds each);
2. the C runtime (``model.c`` + ``runtime/``, host ``cc``) on the raw test split against the
   exported torch module: max |logit diff| (float subnets) or argmax agreement (int8
   activations), its test accuracy;
3. the same C on QEMU mps2-an500 (Cortex-M7): argmax against the host build on every input,
   flash and SRAM from the ELF, executed instructions of the longest test sequence;
4. the stm32f746 cost model (whole-sequence, the data's longest length) against those: flash,
   SRAM and latency, as predicted and after a linear fit ``measured ~ a * predicted + b``
   (leave-one-out: each subnet's fitted value comes from a fit on the others).

    .venv/bin/python tools/bench_deploy.py --run runs/jv --subnets 50 [--graph 12] \
        [--out /tmp/deploy.json [--resume]]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasx.export.files import load_exported, weights_bytes
from nasx.export.graph_formats import (
    export_onnx,
    export_pt2,
    load_pt2_program,
    onnx_session,
    pt2_min_length,
    run_onnx,
)
from nasx.export.mcu import cortex_m7
from nasx.export.mcu.build import build_and_run_host, write_c_export
from nasx.export.metrics import accuracy, batched_logits
from nasx.export.pick import Pick
from nasx.export.preprocess import raw_splits
from nasx.export.reference import reference
from nasx.export.verify import has_act_quant
from nasx.predictors import CostModel, load_device
from nasx.predictors.devices.mcu_fit import fitted_profile_file
from nasx.runs.layout import EXPORT_ARCH_FILE, EXPORT_WEIGHTS_FILE
from nasx.search_spaces import describe_arch, largest_arch, random_arch, smallest_arch


def _pick(arch: dict[str, Any]) -> Pick:
    return Pick(arch=arch, source="bench")


def graph_checks(net: Any, raw: Any, tmp: Path) -> dict[str, float]:
    """Test accuracy of the pt2 program and the ONNX graph of ``net`` on raw test data."""
    test = raw.test
    export_pt2(net, tmp / "m.pt2", raw.max_length)
    program = load_pt2_program(tmp / "m.pt2")
    out = {"pt2_raw_test_acc": accuracy(
        batched_logits(program.module(), test, pt2_min_length(program)), test.y)}
    export_onnx(net, tmp / "m.onnx", raw.max_length)
    session = onnx_session(tmp / "m.onnx")
    out["onnx_raw_test_acc"] = accuracy(
        batched_logits(lambda x, n: run_onnx(session, x, n), test), test.y)
    return out


def add_graphs(run: Any, raw: Any, arch: dict[str, Any], row: dict[str, Any]) -> None:
    """Add the pt2/ONNX checks to a row measured without them (``--resume --graph N``)."""
    net = reference(_pick(arch), run, refit=False).net
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / EXPORT_ARCH_FILE).write_text(json.dumps(net.spec.to_json()))
        (Path(tmp) / EXPORT_WEIGHTS_FILE).write_bytes(weights_bytes(net))
        row.update(graph_checks(load_exported(Path(tmp)), raw, Path(tmp)))


def one_subnet(run: Any, raw: Any, arch: dict[str, Any], graph: bool, device: Any,
               tmp: Path, fitted: Any = None) -> dict[str, Any]:
    """Every figure of one subnet (see the module docstring)."""
    test = raw.test
    ref = reference(_pick(arch), run, refit=False)
    net, ref_test = ref.net, ref.test
    (tmp / EXPORT_ARCH_FILE).write_text(json.dumps(net.spec.to_json()))
    (tmp / EXPORT_WEIGHTS_FILE).write_bytes(weights_bytes(net))
    net = load_exported(tmp)
    torch_logits = batched_logits(net, test)
    row: dict[str, Any] = {"id": net.spec.id, "describe": describe_arch(net.spec.arch),
                           "act_quant": has_act_quant(net.spec.arch),
                           "eval_test_acc": accuracy(ref_test, test.y),
                           "torch_raw_test_acc": accuracy(torch_logits, test.y)}
    if graph:
        row.update(graph_checks(net, raw, tmp))
    cdir = tmp / "c"
    cdir.mkdir()
    src = write_c_export(cdir, net, raw.max_length, test.x, test.lengths, torch_logits,
                         not row["act_quant"])
    host = build_and_run_host(cdir, net.spec.num_classes)
    row.update(c_max_diff=float((host.logits - torch_logits).abs().max()),
               c_argmax_agreement=float((host.logits.argmax(1) ==
                                         torch_logits.argmax(1)).float().mean()),
               c_test_acc=accuracy(host.logits, test.y), arena_bytes=src.arena_bytes)
    if cortex_m7.missing_tools() is None:
        m7 = cortex_m7.run_m7(cdir, net.spec.num_classes)
        longest = int(test.lengths.argmax())
        row.update(m7_argmax_equal=bool(torch.equal(m7.logits.argmax(1), host.logits.argmax(1))),
                   m7_max_diff_vs_host=float((m7.logits - host.logits).abs().max()),
                   m7_flash=m7.flash_bytes, m7_sram=m7.sram_bytes, m7_stack=m7.stack_bytes,
                   m7_instructions=m7.instructions[longest])
    cost = CostModel(run.space, raw.channels, raw.num_classes, length=raw.max_length,
                     mode="whole-sequence", device=device).cost(net.spec.arch)
    row.update(cost_flash=cost.flash_bytes, cost_sram=cost.sram_bytes,
               cost_latency_s=cost.latency_s, cost_macs=cost.macs,
               cost_peak_sram=cost.peak_sram_bytes, run_peak_bytes=src.run_peak_bytes)
    if fitted is not None:  # the fit `nasx profile --device stm32f746` stored in the run
        fc = CostModel(run.space, raw.channels, raw.num_classes, length=raw.max_length,
                       mode="whole-sequence", device=fitted).cost(net.spec.arch)
        row.update(fit_flash=fc.flash_bytes, fit_sram=fc.sram_bytes,
                   fit_latency_s=fc.latency_s)
    return row


def run_picks(run_dir: Path, space: Any) -> list[dict[str, Any]]:
    """Each budget's best subnet in ``run_dir/search/pareto.json`` (none without a search)."""
    from nasx.search_spaces import canonical_arch

    path = run_dir / "search" / "pareto.json"
    if not path.is_file():
        return []
    pf = json.loads(path.read_text())
    picks = [pf["subnets"][b["best"]]["arch"] for b in pf["budgets"] if b["best"] is not None]
    print(f"picks: {', '.join(b['name'] for b in pf['budgets'] if b['best'] is not None)}")
    return [canonical_arch(space, a) for a in picks]


def loo_fit(pred: np.ndarray, meas: np.ndarray) -> np.ndarray:
    """Leave-one-out predictions of ``meas ~ a * pred + b``."""
    out = np.empty_like(meas, dtype=float)
    for i in range(len(meas)):
        keep = np.arange(len(meas)) != i
        a, b = np.polyfit(pred[keep], meas[keep], 1)
        out[i] = a * pred[i] + b
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def fit_report(rows: list[dict[str, Any]]) -> None:
    """Flash, SRAM and latency: cost model against the Cortex-M7, before and after the fit."""
    rows = [r for r in rows if "m7_flash" in r]
    if len(rows) < 3:
        print("no Cortex-M7 figures (cross toolchain or QEMU missing)")
        return
    stored = all("fit_flash" in r for r in rows)
    print("\n| quantity | n | within 10% before | within 10% after (LOO fit) | within 10% "
          "(nasx profile fit) | MAPE before | MAPE after (LOO) | MAPE (nasx profile fit) | "
          "Spearman |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, p_key, m_key, f_key in (
            ("flash", "cost_flash", "m7_flash", "fit_flash"),
            ("SRAM", "cost_sram", "m7_sram", "fit_sram"),
            ("latency", "cost_latency_s", "m7_instructions", "fit_latency_s")):
        pred = np.array([float(r[p_key]) for r in rows])
        meas = np.array([float(r[m_key]) for r in rows])
        prof = np.array([float(r[f_key]) for r in rows]) if stored else None
        if name == "latency":  # seconds -> cycles at the profile clock, to compare counts
            pred = pred * 216e6
            prof = prof * 216e6 if prof is not None else None
        fitted = loo_fit(pred, meas)
        within_b = float(np.mean(np.abs(pred - meas) <= 0.1 * meas))
        within_a = float(np.mean(np.abs(fitted - meas) <= 0.1 * meas))
        mape_b = float(np.mean(np.abs(pred - meas) / meas))
        mape_a = float(np.mean(np.abs(fitted - meas) / meas))
        w_p = f"{100 * float(np.mean(np.abs(prof - meas) <= 0.1 * meas)):.0f}%" \
            if prof is not None else "-"
        m_p = f"{100 * float(np.mean(np.abs(prof - meas) / meas)):.1f}%" \
            if prof is not None else "-"
        print(f"| {name} | {len(rows)} | {100 * within_b:.0f}% | {100 * within_a:.0f}% | {w_p} | "
              f"{100 * mape_b:.1f}% | {100 * mape_a:.1f}% | {m_p} | {spearman(pred, meas):.3f} |")
    same = sum(r["run_peak_bytes"] == r["cost_peak_sram"] for r in rows)
    print(f"cost model peak SRAM == the runtime's planned arena peak: {same}/{len(rows)}")
    a, b = np.polyfit([float(r["cost_flash"]) for r in rows],
                      [float(r["m7_flash"]) for r in rows], 1)
    print(f"flash fit (all): measured = {a:.3f} * predicted + {b / 1024:.1f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/jv"))
    parser.add_argument("--subnets", type=int, default=50)
    parser.add_argument("--graph", type=int, default=10**6, help="pt2/ONNX for the first N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="rows as JSON")
    parser.add_argument("--resume", action="store_true",
                        help="keep the rows already in --out and measure the rest (and add "
                        "pt2/ONNX to kept rows below --graph that lack them)")
    args = parser.parse_args()
    from nasx.runs.trained import load_trained_run

    torch.set_num_threads(1)
    run = load_trained_run(args.run)
    run.net.cpu()
    raw = raw_splits(run.cfg)
    device = load_device("stm32f746")
    fitted_path = fitted_profile_file(args.run / "predictors", "stm32f746")
    fitted = load_device(fitted_path) if fitted_path.is_file() else None
    rng = np.random.default_rng(args.seed)
    archs = [*run_picks(args.run, run.space), largest_arch(run.space),
             smallest_arch(run.space), *(random_arch(run.space, rng) for _ in range(args.subnets))]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; torch "
          f"{torch.__version__}; run {args.run} ({run.space.name}, {raw.name}, test "
          f"{len(raw.test)} samples)")
    rows = json.loads(args.out.read_text()) if args.resume and args.out else []
    for i, arch in enumerate(archs):
        if i < len(rows):
            if i < args.graph and "pt2_raw_test_acc" not in rows[i]:
                add_graphs(run, raw, arch, rows[i])
                print(json.dumps(rows[i]), flush=True)
                if args.out:
                    args.out.write_text(json.dumps(rows, indent=1))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            row = one_subnet(run, raw, arch, i < args.graph, device, Path(tmp), fitted)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=1))
    summary(rows)
    fit_report(rows)


def summary(rows: list[dict[str, Any]]) -> None:
    """Accuracy equality and C/M7 equivalence over all subnets."""
    n = len(rows)
    same = {k: sum(r[k] == r["eval_test_acc"] for r in rows if k in r)
            for k in ("torch_raw_test_acc", "pt2_raw_test_acc", "onnx_raw_test_acc",
                      "c_test_acc")}
    counted = {k: sum(k in r for r in rows) for k in same}
    print(f"\nsubnets: {n} ({sum(r['act_quant'] for r in rows)} with int8 activations)")
    for k, v in same.items():
        print(f"  {k} == nasx eval test accuracy: {v}/{counted[k]}")
    flt = [r for r in rows if not r["act_quant"]]
    qnt = [r for r in rows if r["act_quant"]]
    if flt:
        print(f"  C host, float subnets: max |logit diff| {max(r['c_max_diff'] for r in flt):.2e}")
    if qnt:
        print(f"  C host, int8-activation subnets: argmax agreement min "
              f"{100 * min(r['c_argmax_agreement'] for r in qnt):.2f}%, median "
              f"{100 * statistics.median(r['c_argmax_agreement'] for r in qnt):.2f}%, max |diff| "
              f"{max(r['c_max_diff'] for r in qnt):.2e}")
    m7 = [r for r in rows if "m7_argmax_equal" in r]
    if m7:
        print(f"  Cortex-M7 argmax equal to the host build on every input: "
              f"{sum(r['m7_argmax_equal'] for r in m7)}/{len(m7)} subnets; max |M7 - host| "
              f"{max(r['m7_max_diff_vs_host'] for r in m7):.2e}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
