"""Refit: a chosen subnet fine-tuned on the training and validation splits together.

The validation split exists to choose a subnet. Once the choice is made, its sequences are
data the deployed model can learn from, and on a small data set they are a fifth of it: an
expert refits the chosen model on all the training data (what ``refit=True`` does in
scikit-learn's model selection). :func:`refit_subnet` starts from the supernet's weights for
the subnet, trains only that subnet on ``train + val`` for ``refit.steps`` optimizer steps
(AdamW at ``refit.lr`` with cosine decay, the run's augmentation, label smoothing, weight
decay and gradient clipping), re-measures BatchNorm on ``train + val`` and keeps the extracted
static subnet in ``<run>/refit/<id>.safetensors``. ``nasx export`` exports these weights when
the run's ``refit.steps`` is above 0; a second export of the same subnet reuses the file when
the settings and the data fingerprint match.

After a refit, the validation accuracy is no longer a held-out figure (the model has seen those
sequences); the export reports the supernet's validation accuracy, which chose the subnet, and
the test accuracy of the refitted model.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load, save

from nasx.data import SequenceSet, iterate_batches
from nasx.data.augment import Augmentation, augment_batch
from nasx.data.lazy_sequences import LazySequenceSet
from nasx.errors import RunError
from nasx.runs import atomic_write_bytes
from nasx.runs.layout import REFIT_DIR
from nasx.search_spaces import Arch, arch_id
from nasx.supernet.io import safetensors_metadata
from nasx.supernet.static_net import StaticNet
from nasx.train.bn_recal import recalibrate_bn
from nasx.train.evaluate import calibration_batches
from nasx.train.optim import build_scheduler, param_groups
from nasx.train.seeds import derived_seed

FORMAT = "nasx-refit-1"
_REFIT_STREAM = 5


@dataclass(frozen=True)
class RefitResult:
    """A refitted subnet.

    Attributes:
        net: the static subnet in eval mode, BatchNorm measured on ``train + val``.
        path: its weights file, ``<run>/refit/<id>.safetensors``.
        steps: optimizer steps it was fine-tuned for.
        sequences: training sequences it saw (``train + val``).
        seconds: wall time of the fine-tuning (0 when the file was reused).
        reused: the weights came from an earlier refit with the same settings and data.
    """

    net: StaticNet
    path: Path
    steps: int
    sequences: int
    seconds: float
    reused: bool

    def as_json(self) -> dict[str, Any]:
        """What ``metrics.json`` records about the refit."""
        return {"steps": self.steps, "trained_on": "train+val", "sequences": self.sequences,
                "seconds": round(self.seconds, 2), "reused": self.reused,
                "weights": f"{REFIT_DIR}/{self.path.name}"}


def train_and_val(train: SequenceSet | LazySequenceSet,
                  val: SequenceSet | LazySequenceSet) -> SequenceSet | LazySequenceSet:
    """The training and validation sequences as one set, zero-padded to the longer length
    (data read lazily stays so: both are rows of the same file)."""
    if isinstance(train, LazySequenceSet) and isinstance(val, LazySequenceSet):
        return replace(train, rows=np.concatenate([train.rows, val.rows]),
                       lengths=torch.cat([train.lengths, val.lengths]),
                       y=torch.cat([train.y, val.y]))
    assert isinstance(train, SequenceSet) and isinstance(val, SequenceSet)
    length = max(train.max_length, val.max_length)

    def padded(s: SequenceSet) -> torch.Tensor:
        return F.pad(s.x, (0, length - s.max_length))  # (N, C, length)

    return SequenceSet(torch.cat([padded(train), padded(val)]),
                       torch.cat([train.lengths, val.lengths]), torch.cat([train.y, val.y]))


def _settings(run: Any, arch: Arch) -> dict[str, str]:
    """The metadata an earlier refit must match to be reused."""
    r = run.cfg.refit
    return {"format": FORMAT, "id": arch_id(arch), "steps": str(r.steps), "lr": repr(r.lr),
            "data": str(run.splits.fingerprint.get("all")), "weights": run.weights}


def refit_path(run_dir: Path, arch: Arch) -> Path:
    """Where the refit of ``arch`` in the run ``run_dir`` is kept."""
    return run_dir / REFIT_DIR / f"{arch_id(arch)}.safetensors"


def _reuse(run: Any, arch: Arch, path: Path) -> StaticNet | None:
    """The static subnet saved at ``path`` if it was refitted with the run's settings now."""
    if not path.is_file():
        return None
    try:
        data = path.read_bytes()
        tensors = load(data)
        meta = safetensors_metadata(data)
    except (SafetensorError, ValueError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: not a readable refit file ({str(exc).splitlines()[0]}); "
                       "delete it and export again to refit the subnet") from None
    if meta != _settings(run, arch):
        return None
    net = run.net.extract(arch)
    try:
        net.load_state_dict(tensors)
    except RuntimeError:  # missing, extra or misshapen tensors
        raise RunError(f"{path}: its tensors do not fit subnet {arch_id(arch)}; delete it and "
                       "export again to refit the subnet") from None
    return net.eval()


def refit_subnet(run: Any, arch: Arch, say: Callable[[str], None] = print) -> RefitResult:
    """Fine-tune ``arch`` of the loaded run (a ``TrainedRun``) on ``train + val`` (see the
    module docstring); the run's supernet is not changed."""
    cfg, splits = run.cfg, run.splits
    path = refit_path(run.run_dir, arch)
    data = train_and_val(splits.train, splits.val)
    steps = int(cfg.refit.steps)
    reused = _reuse(run, arch, path)
    if reused is not None:
        return RefitResult(reused, path, steps, len(data), 0.0, True)
    say(f"  refit: {steps} steps on train + val ({len(data)} sequences)")
    start = time.perf_counter()
    # the head's dropout draws from torch's global generator: seed it here (and leave the
    # caller's state as it was) so that a refit gives the same weights whatever ran before it
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(cfg.seed, _REFIT_STREAM))
        net = copy.deepcopy(run.net).cpu()
        _fine_tune(net, arch, data, cfg, steps)
        with torch.no_grad():
            calib = calibration_batches(data, cfg.data.batch_size, cfg.train.calib_batches,
                                        cfg.seed, "cpu")
            recalibrate_bn(net, arch, calib)
        static = net.extract(arch).eval()
    tensors = {k: v.detach().contiguous() for k, v in static.state_dict().items()}
    path.parent.mkdir(exist_ok=True)
    atomic_write_bytes(path, save(tensors, metadata=_settings(run, arch)))
    return RefitResult(static, path, steps, len(data), time.perf_counter() - start, False)


def _fine_tune(net: Any, arch: Arch, data: SequenceSet, cfg: Any, steps: int) -> None:
    """``steps`` optimizer steps of ``arch`` alone on ``data`` (labels, label smoothing)."""
    t = cfg.train
    a = cfg.data.augment
    aug = Augmentation(crop=a.crop, scale=a.scale, noise=a.noise)
    gen = torch.Generator().manual_seed(derived_seed(cfg.seed, _REFIT_STREAM))
    opt = torch.optim.AdamW(param_groups(net, t.weight_decay), lr=cfg.refit.lr)
    sched = build_scheduler(opt, steps, 0)
    net.set_active(arch)
    net.train()
    done = 0
    while done < steps:
        for b in iterate_batches(data, cfg.data.batch_size, shuffle=True, generator=gen):
            if aug.active:
                b = augment_batch(b, aug, gen)
            logits = net(b.x, b.lengths, arch=arch)  # (B, classes)
            loss = F.cross_entropy(logits, b.y, label_smoothing=t.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if t.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), t.grad_clip)
            opt.step()
            sched.step()
            done += 1
            if done >= steps:
                return
