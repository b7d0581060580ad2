"""The end-to-end job on the embedded default data, as far as nasx goes today.

Resolves the config, loads the dataset and the search space (validating everything before the
run folder is touched), writes ``config.yaml``, ``space.yaml`` and ``supernet.safetensors``,
then samples the largest, the smallest and ``n_random`` random subnets, extracts each one as a
static module and checks on the validation split that it computes what the supernet computes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nasx.config import RunConfig, validate_config
from nasx.data import load_dataset
from nasx.runs import atomic_write_text, prepare_run_dir, write_resolved_config
from nasx.search_spaces import (
    arch_id,
    describe_arch,
    dump_space_yaml,
    largest_arch,
    load_space,
    random_arch,
    smallest_arch,
)
from nasx.supernet import Supernet
from nasx.supernet.io import load_supernet, save_supernet


@dataclass(frozen=True)
class SubnetCheck:
    """One sampled subnet: its id, summary, size and how far the extracted copy is off."""

    kind: str
    arch_id: str
    summary: str
    params: int
    max_abs_diff: float


@dataclass(frozen=True)
class QuickstartResult:
    """What :func:`run_quickstart` wrote and measured."""

    run_dir: Path
    supernet_params: int
    checks: list[SubnetCheck]
    seconds: float


def run_quickstart(cfg: RunConfig, out: Path, *, overwrite: bool, resume: bool,
                   n_random: int = 5) -> QuickstartResult:
    """Run the quickstart job into ``out`` (see the module docstring)."""
    start = time.perf_counter()
    validate_config(cfg)
    space = load_space(cfg.space)
    splits = load_dataset(cfg.data.name, val_fraction=cfg.data.val_fraction, seed=cfg.seed,
                          normalize=cfg.data.normalize)
    run_dir = prepare_run_dir(out, overwrite=overwrite, resume=resume)
    write_resolved_config(run_dir, cfg)
    atomic_write_text(run_dir / "space.yaml", dump_space_yaml(space))
    weights = run_dir / "supernet.safetensors"
    if resume and weights.exists():
        net = load_supernet(weights, space)
    else:
        torch.manual_seed(cfg.seed)
        net = Supernet(space, splits.channels, splits.num_classes)
        save_supernet(net, weights)
    net.eval()
    rng = np.random.default_rng(cfg.seed)
    archs = [("largest", largest_arch(space, rng)), ("smallest", smallest_arch(space, rng))]
    archs += [(f"random {i + 1}", random_arch(space, rng)) for i in range(n_random)]
    val = splits.val
    checks = []
    with torch.no_grad():
        for kind, arch in archs:
            ref = net(val.x, val.lengths, arch=arch)  # (N_val, classes)
            static = net.extract(arch)
            diff = (static(val.x, val.lengths) - ref).abs().max().item()
            checks.append(SubnetCheck(kind, arch_id(net.active_arch), describe_arch(arch),
                                      sum(p.numel() for p in static.parameters()), diff))
    return QuickstartResult(run_dir, sum(p.numel() for p in net.parameters()), checks,
                            time.perf_counter() - start)
