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

The run is loaded by :func:`nasx.runs.trained.load_trained_run` (the weights of
``supernet.safetensors``, or of ``checkpoints/last.pt`` when the run has not finished). Each
subnet is evaluated after BatchNorm recalibration on the run's calibration batches (the same ones
training used).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from nasx.errors import ArchError, NasxError
from nasx.runs.layout import ARCHS_FILE
from nasx.runs.readers import read_archs
from nasx.runs.trained import TrainedRun
from nasx.search_spaces import Arch, load_arch
from nasx.train.evaluate import SubnetEval, calibration_batches, evaluate_subnets
from nasx.train.subnets import STANDALONE, monitor_archs

_ARCH_ID = re.compile(r"^[0-9a-f]{12}$")
_RANDOM = re.compile(r"^random:(\d+)$")
SPLITS = ("val", "test")


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
            known = {v["id"]: (name, v["arch"]) for name, v in read_archs(run.run_dir).items()}
            if spec not in known:
                raise ArchError(f"--arch {spec}: no arch with this id in "
                                f"{run.run_dir / ARCHS_FILE} (known: {', '.join(known)}); "
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
        return STANDALONE, read_archs(run.run_dir)[STANDALONE]["arch"]
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
