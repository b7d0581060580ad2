"""A training run loaded back (:class:`TrainedRun`): what ``nasx eval``, ``nasx predictor``,
``nasx search`` and ``nasx export`` start from.

The weights come from ``supernet.safetensors``, or from ``checkpoints/last.pt`` when the run has
not finished; the data set is loaded with the run's settings and checked against the
fingerprint recorded at training (``data.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from nasx.config import RunConfig
from nasx.data import DatasetSplits, load_dataset
from nasx.errors import ConfigError, RunError
from nasx.recipe import resolve_recipe
from nasx.runs.checkpoint import load_checkpoint
from nasx.runs.data_record import check_data_unchanged
from nasx.runs.layout import CHECKPOINT, CONFIG_FILE, SPACE_FILE, SUPERNET_FILE
from nasx.runs.readers import read_run_config
from nasx.search_spaces import SearchSpace, load_space
from nasx.supernet import Supernet
from nasx.supernet.io import load_supernet


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


def resolve_device(name: str) -> torch.device:
    """``torch.device(name)`` for the config key ``train.device``, refusing names torch does not
    know and absent CUDA.

    Raises:
        ConfigError: an unknown device name, or CUDA where torch sees none.
    """
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"config key 'train.device': unknown device {name!r} "
                          "(e.g. cpu, cuda, cuda:1)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"config key 'train.device' is {name!r} but torch sees no CUDA "
                          "device; use train.device=cpu")
    return device


def build_supernet(cfg: RunConfig, space: SearchSpace, splits: DatasetSplits) -> Supernet:
    """The run's supernet with its seeded initial weights (``torch.manual_seed(cfg.seed)``)."""
    torch.manual_seed(cfg.seed)
    return Supernet(space, splits.channels, splits.num_classes)


def load_trained_run(run_dir: Path) -> TrainedRun:
    """Load the run in ``run_dir``.

    Raises:
        NasxError: not a run folder, or a run with neither final weights nor a checkpoint.
    """
    cfg_path = run_dir / CONFIG_FILE
    if not cfg_path.is_file() or not (run_dir / SPACE_FILE).is_file():
        raise RunError(f"'{run_dir}' is not a nasx train run folder (no {CONFIG_FILE} and "
                       f"{SPACE_FILE}); give the --out folder of nasx train")
    cfg = resolve_recipe(read_run_config(run_dir))  # a hand-written "auto" too
    kind, _, path = cfg.data.name.partition(":")
    if kind in ("npz", "npy") and not Path(path).is_absolute() and not Path(path).exists():
        raise RunError(f"{run_dir / CONFIG_FILE}: data.name {cfg.data.name} is relative to the "
                       "folder the run was trained in (written by an older nasx); run the "
                       "command from that folder, or write the absolute path into data.name")
    if cfg.train.threads is not None:
        torch.set_num_threads(cfg.train.threads)
    space = load_space(run_dir / SPACE_FILE)
    splits = load_dataset(cfg.data.name, val_fraction=cfg.data.val_fraction,
                          val_sample=cfg.data.val_sample, seed=cfg.seed,
                          normalize=cfg.data.normalize)
    check_data_unchanged(run_dir, cfg.data.name, splits.fingerprint)
    final, ckpt = run_dir / SUPERNET_FILE, run_dir / CHECKPOINT
    if final.is_file():
        net, weights = load_supernet(final, space), SUPERNET_FILE
    elif ckpt.is_file():
        state = load_checkpoint(ckpt)
        net = build_supernet(cfg, space, splits)
        net.load_state_dict(state["model"])
        weights = f"{CHECKPOINT} (epoch {int(state['epoch'])})"
    else:
        raise RunError(f"'{run_dir}' has no {SUPERNET_FILE} and no checkpoint yet; "
                       "train it first (nasx train --resume)")
    return TrainedRun(run_dir, cfg, space, splits, net.to(resolve_device(cfg.train.device)),
                      weights)
