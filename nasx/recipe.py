"""The data-aware default recipe: every ``auto`` config value decided from the data set.

``nasx train`` and ``nasx quickstart`` call :func:`resolve_recipe` before a run starts; the
resolved values go into the run's ``config.yaml``, where a user reads them and can override any
of them (``key=value`` replaces ``auto``). What is decided, from the training split (after the
validation split is carved out):

- ``space``: ``hybrid-mcu`` when the median sequence length is at most
  :data:`SHORT_LENGTH` steps, else ``hybrid-long`` (its strided stem and stages give LSTM, SSM
  and attention 4-16x fewer steps than the input has).
- ``data.batch_size``: 16 for training splits of fewer than :data:`SMALL_BATCH_BELOW`
  sequences (more, noisier steps per epoch: what generalised best on OSULeaf), else 32.
- ``train.epochs``: enough epochs for a budget of optimizer steps, not a fixed epoch count:
  ``clamp(EPOCHS_AT_SCALE * steps_per_epoch, MIN_STEPS, MAX_STEPS)``. Small data sets get
  ``MIN_STEPS`` steps however few batches an epoch has; large ones a few epochs. Training time
  therefore grows linearly with the data between the floor and the cap.
- ``train.eps_warmup``: the ε ramp of delayed shrinking as :data:`EPS_RAMP_SHARE` of the epochs.
- ``data.normalize``: ``series`` (each sequence z-normalised) when the amplitude of the series
  differs by more than 100x (the 90th over the 10th percentile of the per-series std, median
  over channels), where per-channel statistics would leave most series near zero; ``channel``
  otherwise, which keeps amplitude as information (:func:`nasx.data.normalize.auto_mode`).
- ``train.eval_every``: evaluation and checkpoint every ``ceil(epochs / EVALUATIONS)``
  epochs, so a small data set's many short epochs are not dominated by evaluation.
- ``train.calib_batches``: BatchNorm recalibration on the whole training split (``0``: exact,
  no sampling noise between subnets) up to :data:`WHOLE_SPLIT_CALIB` training sequences, else
  :data:`CALIB_BATCHES` seeded batches.
- ``data.augment``: amplitude scale 0.1 and noise 0.05 for training splits of at most
  :data:`AUGMENT_BELOW` sequences, off above; the window crop :data:`LONG_CROP` (each series
  replaced by a random window of at least 80% of its length, stretched back) only where the
  median length is above :data:`SHORT_LENGTH` as well: on PickupGestureWiimoteZ (40 training
  gestures of 29-361 steps) it raised one subnet trained alone from 59.3% to 85.3% test
  (3 seeds), while on short series aligned in time it moves events that carry the class (on
  ItalyPowerDemand, aligned to the hour of the day, crop 0.8 cost 1.6 points over 7 subnets).
- ``refit.steps``: the exported subnet fine-tuned for :data:`REFIT_STEPS` steps on the
  training and validation splits together (:mod:`nasx.train.refit`) for training splits of at
  most :data:`AUGMENT_BELOW` sequences, where the validation split is a large share of the
  data; 0 above.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from nasx.config import AUTO, RunConfig, validate_config

SHORT_LENGTH = 64
EPOCHS_AT_SCALE = 120
MIN_STEPS = 2000
MAX_STEPS = 30000
EPS_RAMP_SHARE = 0.05
AUGMENT_BELOW = 2000
EVALUATIONS = 50
SMALL_BATCH_BELOW = 200
SMALL_BATCH = 16
BATCH = 32
WHOLE_SPLIT_CALIB = 1024
CALIB_BATCHES = 8
REFIT_STEPS = 300
AUGMENT_ON = {"crop": 1.0, "scale": 0.1, "noise": 0.05}
AUGMENT_OFF = {"crop": 1.0, "scale": 0.0, "noise": 0.0}
LONG_CROP = 0.8


@dataclass(frozen=True)
class DataProfile:
    """What the recipe looks at: the training split's size and shape.

    Attributes:
        n_train: training sequences (after the validation split).
        channels: input channels.
        median_length: median valid length of the training sequences.
        normalization: the mode ``data.normalize: auto`` takes for this training split.
    """

    n_train: int
    channels: int
    median_length: float
    normalization: str


def profile_data(cfg: RunConfig) -> DataProfile:
    """Load ``cfg.data`` un-normalised and measure its :class:`DataProfile`."""
    from nasx.data import load_dataset
    from nasx.data.normalize import auto_mode

    splits = load_dataset(cfg.data.name, val_fraction=cfg.data.val_fraction,
                          val_sample=cfg.data.val_sample, seed=cfg.seed, normalize="none")
    train = splits.train
    mode = splits.auto_normalization or auto_mode(train)  # npy: measured while opening it
    return DataProfile(n_train=len(train), channels=splits.channels,
                       median_length=float(train.lengths.double().median()),
                       normalization=mode)


def needs_resolving(cfg: RunConfig) -> bool:
    """Whether any value of ``cfg`` is still ``auto``."""
    return AUTO in _flat_values(dataclasses.asdict(cfg))


def _flat_values(tree: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for value in tree.values():
        out.extend(_flat_values(value) if isinstance(value, dict) else [value])
    return out


def resolve_recipe(cfg: RunConfig, profile: DataProfile | None = None) -> RunConfig:
    """``cfg`` with every ``auto`` value decided from the data (see the module docstring).

    Values the user set are kept; a config without ``auto`` is returned unchanged (the data is
    not even loaded). ``profile`` defaults to :func:`profile_data` of ``cfg``.
    """
    if not needs_resolving(cfg):
        return cfg
    p = profile if profile is not None else profile_data(cfg)
    data, train = cfg.data, cfg.train
    small = p.n_train <= AUGMENT_BELOW  # augmentation and the refit
    long = p.median_length > SHORT_LENGTH  # hybrid-long and the window crop
    space = cfg.space
    if space == AUTO:
        space = "hybrid-long" if long else "hybrid-mcu"
    normalize = data.normalize
    if normalize == AUTO:
        normalize = p.normalization
    preset = dict(AUGMENT_ON if small else AUGMENT_OFF)
    if small and long:
        preset["crop"] = LONG_CROP
    augment = dataclasses.replace(data.augment, **{
        k: preset[k] for k in preset if getattr(data.augment, k) == AUTO})
    batch = data.batch_size
    if batch == AUTO:
        batch = SMALL_BATCH if p.n_train < SMALL_BATCH_BELOW else BATCH
    epochs = train.epochs
    steps_per_epoch = math.ceil(p.n_train / int(batch))
    if train.batches_per_epoch is not None:
        steps_per_epoch = min(steps_per_epoch, train.batches_per_epoch)
    if epochs == AUTO:
        steps = min(MAX_STEPS, max(MIN_STEPS, EPOCHS_AT_SCALE * steps_per_epoch))
        epochs = math.ceil(steps / steps_per_epoch)
    eps_warmup = train.eps_warmup
    if eps_warmup == AUTO:
        eps_warmup = round(EPS_RAMP_SHARE * int(epochs), 2)
    eval_every = train.eval_every
    if eval_every == AUTO:
        eval_every = max(1, math.ceil(int(epochs) / EVALUATIONS))
    calib = train.calib_batches
    if calib == AUTO:
        calib = 0 if p.n_train <= WHOLE_SPLIT_CALIB else CALIB_BATCHES
    refit = cfg.refit
    if refit.steps == AUTO:
        refit = dataclasses.replace(refit, steps=REFIT_STEPS if small else 0)
    out = dataclasses.replace(
        cfg, space=space, refit=refit,
        data=dataclasses.replace(data, normalize=normalize, augment=augment, batch_size=batch),
        train=dataclasses.replace(train, epochs=epochs, eps_warmup=eps_warmup,
                                  eval_every=eval_every, calib_batches=calib))
    validate_config(out)
    return out
