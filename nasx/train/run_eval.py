"""Evaluating subnets of a finished (or interrupted) training run: what ``nasx eval`` does.

Arch specs:

- ``largest``, ``smallest``: the run's fixed largest/smallest subnets (``archs.json``; with
  ``op_choice=sample`` their ops were drawn once with the run seed);
- ``random:K``: the first ``K`` fixed random subnets of the run; the first ``eval_random`` of
  them are the ones validated every epoch, more continue the same seeded stream;
- an arch id (12 hex digits) listed in the run's ``archs.json``;
- a path to an arch JSON file (e.g. a line of ``nasx space sample`` saved to a file);
- ``standalone``: the one subnet of a run trained standalone (``train.arch``), where the other
  names are refused.

The weights come from ``supernet.safetensors``, or from ``checkpoints/last.pt`` when the run has
not finished. Each subnet is evaluated after BatchNorm recalibration on the run's calibration
batches (the same ones training used).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from nasx.config import RunConfig
from nasx.data import DatasetSplits, load_dataset
from nasx.errors import ArchError, NasxError, RunError
from nasx.recipe import resolve_recipe
from nasx.runs import CONFIG_FILE
from nasx.runs.data_record import check_data_unchanged
from nasx.runs.readers import read_run_config
from nasx.search_spaces import Arch, SearchSpace, load_arch, load_space
from nasx.supernet import Supernet
from nasx.supernet.io import load_supernet
from nasx.train import run_files as rf
from nasx.train.checkpoint import load_checkpoint
from nasx.train.evaluate import SubnetEval, calibration_batches, evaluate_subnets
from nasx.train.loop import build_supernet, resolve_device
from nasx.train.subnets import STANDALONE, monitor_archs

_ARCH_ID = re.compile(r"^[0-9a-f]{12}$")
_RANDOM = re.compile(r"^random:(\d+)$")
SPLITS = ("val", "test")


@dataclass(frozen=True)
class TrainedRun:
    """A training run loaded back: its config, space, data, supernet and where the weights came
    from (``supernet.safetensors`` or ``checkpoints/last.pt (epoch N)``)."""

    run_dir: Path
    cfg: RunConfig
    space: SearchSpace
    splits: DatasetSplits
    net: Supernet
    weights: str


def load_trained_run(run_dir: Path) -> TrainedRun:
    """Load the run in ``run_dir``.

    Raises:
        NasxError: not a run folder, or a run with neither final weights nor a checkpoint.
    """
    cfg_path = run_dir / CONFIG_FILE
    if not cfg_path.is_file() or not (run_dir / rf.SPACE_FILE).is_file():
        raise RunError(f"'{run_dir}' is not a nasx train run folder (no {CONFIG_FILE} and "
                       f"{rf.SPACE_FILE}); give the --out folder of nasx train")
    cfg = resolve_recipe(read_run_config(run_dir))  # a hand-written "auto" too
    kind, _, path = cfg.data.name.partition(":")
    if kind in ("npz", "npy") and not Path(path).is_absolute() and not Path(path).exists():
        raise RunError(f"{run_dir / CONFIG_FILE}: data.name {cfg.data.name} is relative to the "
                       "folder the run was trained in (written by an older nasx); run the "
                       "command from that folder, or write the absolute path into data.name")
    if cfg.train.threads is not None:
        torch.set_num_threads(cfg.train.threads)
    space = load_space(run_dir / rf.SPACE_FILE)
    splits = load_dataset(cfg.data.name, val_fraction=cfg.data.val_fraction,
        val_sample=cfg.data.val_sample, seed=cfg.seed,
                          normalize=cfg.data.normalize)
    check_data_unchanged(run_dir, cfg.data.name, splits.fingerprint)
    final, ckpt = run_dir / rf.SUPERNET_FILE, run_dir / rf.CHECKPOINT
    if final.is_file():
        net, weights = load_supernet(final, space), rf.SUPERNET_FILE
    elif ckpt.is_file():
        state = load_checkpoint(ckpt)
        net = build_supernet(cfg, space, splits)
        net.load_state_dict(state["model"])
        weights = f"{rf.CHECKPOINT} (epoch {int(state['epoch'])})"
    else:
        raise RunError(f"'{run_dir}' has no {rf.SUPERNET_FILE} and no checkpoint yet; "
                       "train it first (nasx train --resume)")
    return TrainedRun(run_dir, cfg, space, splits, net.to(resolve_device(cfg.train.device)),
                      weights)


def resolve_arch_specs(run: TrainedRun, specs: Sequence[str]) -> list[tuple[str, Arch]]:
    """``(name, arch)`` for each spec (see the module docstring), in order."""
    t = run.cfg.train
    if t.arch is not None:
        return [_standalone_spec(run, spec) for spec in specs]
    wanted_random = max([int(m.group(1)) for s in specs if (m := _RANDOM.match(s))] or [0])
    fixed = dict(monitor_archs(run.space, run.cfg.seed, max(wanted_random, t.eval_random),
                               t.op_choice))
    out: list[tuple[str, Arch]] = []
    for spec in specs:
        m = _RANDOM.match(spec)
        if spec in ("largest", "smallest"):
            out.append((spec, fixed[spec]))
        elif m:
            k = int(m.group(1))
            if k < 1:
                raise NasxError(f"--arch {spec}: give at least one random subnet (random:1)")
            out += [(f"random-{i}", fixed[f"random-{i}"]) for i in range(1, k + 1)]
        elif Path(spec).is_file():
            out.append((Path(spec).stem, load_arch(run.space, spec)))
        elif _ARCH_ID.match(spec):
            known = {v["id"]: (name, v["arch"]) for name, v in rf.read_archs(run.run_dir).items()}
            if spec not in known:
                raise ArchError(f"--arch {spec}: no arch with this id in "
                                f"{run.run_dir / rf.ARCHS_FILE} (known: {', '.join(known)}); "
                                "give an arch JSON file instead")
            out.append(known[spec])
        else:
            raise NasxError(f"--arch {spec!r}: expected largest, smallest, random:K, an arch id "
                            "from the run's archs.json or an arch JSON file")
    return out


def _standalone_spec(run: TrainedRun, spec: str) -> tuple[str, Arch]:
    """Resolve ``spec`` in a run that trained one subnet alone (``train.arch``)."""
    if spec in ("largest", "smallest") or _RANDOM.match(spec):
        raise NasxError(f"--arch {spec}: '{run.run_dir}' trained one subnet standalone "
                        f"(train.arch); evaluate it with --arch {STANDALONE}")
    if spec == STANDALONE:
        return STANDALONE, rf.read_archs(run.run_dir)[STANDALONE]["arch"]
    if Path(spec).is_file():
        return Path(spec).stem, load_arch(run.space, spec)
    raise NasxError(f"--arch {spec!r}: expected {STANDALONE} or an arch JSON file")


def evaluate_run(run: TrainedRun, specs: Sequence[str], split: str = "val") -> list[SubnetEval]:
    """Evaluate the subnets named by ``specs`` on ``split`` (``val`` or ``test``)."""
    if split not in SPLITS:
        raise NasxError(f"split {split!r}: expected one of {', '.join(SPLITS)}")
    archs = resolve_arch_specs(run, specs)
    device = next(run.net.parameters()).device
    cfg = run.cfg
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, device)
    return evaluate_subnets(run.net, archs, run.splits.split(split).to(device), calib)
