"""The end-to-end job on the embedded default data, as far as nasx goes today.

Trains the supernet of ``cfg`` into the run folder (``nasx train``), then takes the largest,
the smallest and ``n_random`` fixed random subnets, recalibrates BatchNorm for each, reports its
validation and test accuracy, extracts it as a static module and checks that the extracted
module computes what the supernet computes on the validation split.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from nasx.config import RunConfig
from nasx.search_spaces import arch_id, describe_arch
from nasx.train import train_supernet
from nasx.train.bn_recal import preserved_bn_state, recalibrate_bn
from nasx.train.evaluate import calibration_batches, score_active
from nasx.train.run_eval import load_trained_run, resolve_arch_specs


@dataclass(frozen=True)
class SubnetReport:
    """One subnet: id, summary, size, accuracies and how far its extracted copy is off."""

    name: str
    arch_id: str
    summary: str
    params: int
    val_accuracy: float
    test_accuracy: float
    max_abs_diff: float


@dataclass(frozen=True)
class QuickstartResult:
    """What :func:`run_quickstart` wrote and measured."""

    run_dir: Path
    train_seconds: float
    reports: list[SubnetReport]
    seconds: float


def run_quickstart(cfg: RunConfig, out: Path, *, overwrite: bool, resume: bool,
                   n_random: int = 5,
                   log: Callable[[str], None] | None = None) -> QuickstartResult:
    """Run the quickstart job into ``out`` (see the module docstring)."""
    start = time.perf_counter()
    trained = train_supernet(cfg, out, overwrite=overwrite, resume=resume, log=log)
    run = load_trained_run(out)
    specs = ["largest", "smallest"] + ([f"random:{n_random}"] if n_random > 0 else [])
    device = next(run.net.parameters()).device
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, device)
    val, test = run.splits.val.to(device), run.splits.test.to(device)
    reports = []
    net = run.net.eval()
    with preserved_bn_state(net), torch.no_grad():
        for name, arch in resolve_arch_specs(run, specs):
            recalibrate_bn(net, arch, calib)  # once per subnet, for all three checks
            net.eval()
            val_eval, test_eval = score_active(net, name, val), score_active(net, name, test)
            ref = net(val.x, val.lengths)  # (N_val, classes)
            static = net.extract(arch)
            diff = (static(val.x, val.lengths) - ref).abs().max().item()
            reports.append(SubnetReport(
                name, arch_id(net.active_arch), describe_arch(arch),
                sum(p.numel() for p in static.parameters()), val_eval.accuracy,
                test_eval.accuracy, diff))
    return QuickstartResult(out, trained.seconds, reports, time.perf_counter() - start)
