"""The run config's schema: the config dataclasses and the range checks of their fields.

:mod:`nasx.config` loads, validates and dumps configs of these types (and re-exports them).
A value ``auto`` (:data:`AUTO`) is decided from the data by :mod:`nasx.recipe`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

AUTO = "auto"  # a value the data-aware recipe (nasx.recipe) decides at train time


# ----------------------------------------------------------------------------- value checks


@dataclass(frozen=True)
class Check:
    """A range check for a config field, declared as ``field(metadata={"check": ...})``.

    Attributes:
        test: returns True when a value is allowed.
        requirement: completes "must be ...", e.g. ``"in (0, 1)"``.
    """

    test: Callable[[Any], bool]
    requirement: str


def open_interval(low: float, high: float) -> Check:
    """Values strictly between ``low`` and ``high``."""
    return Check(lambda v: low < v < high, f"in ({low:g}, {high:g})")


def at_least(low: float) -> Check:
    """Values greater than or equal to ``low``."""
    return Check(lambda v: v >= low, f">= {low:g}")


def closed_open(low: float, high: float) -> Check:
    """Values in ``[low, high)``."""
    return Check(lambda v: low <= v < high, f"in [{low:g}, {high:g})")


def greater_than(low: float) -> Check:
    """Values strictly greater than ``low``."""
    return Check(lambda v: v > low, f"> {low:g}")


def optional(check: Check) -> Check:
    """``check`` for a value, and ``None`` always allowed."""
    return Check(lambda v: v is None or check.test(v), f"null or {check.requirement}")


def auto_or(check: Check) -> Check:
    """``check`` for a value, and ``"auto"`` (decided from the data at train time) allowed."""
    return Check(lambda v: v == AUTO or check.test(v), f"auto or {check.requirement}")


def checked(default: Any, check: Check) -> Any:
    """A dataclass field with an immutable ``default`` and a range ``check``."""
    return field(default=default, metadata={"check": check})


# ----------------------------------------------------------------------------- the configs


@dataclass(frozen=True)
class AugmentConfig:
    """Random augmentation of the training batches (never of validation or test data).

    ``auto`` (the default) lets the data-aware recipe decide from the training-set size.

    Attributes:
        crop: window slicing: each sequence becomes a random window of at least this fraction
            of its length, resampled back to that length (1: off).
        scale: std of the log amplitude factor per sequence and channel (0: off).
        noise: std of the Gaussian jitter added to every valid step (0: off).
    """

    crop: Literal["auto"] | float = checked(AUTO, auto_or(Check(lambda v: 0 < v <= 1, "in (0, 1]")))
    scale: Literal["auto"] | float = checked(AUTO, auto_or(at_least(0)))
    noise: Literal["auto"] | float = checked(AUTO, auto_or(at_least(0)))


@dataclass(frozen=True)
class DataConfig:
    """Which dataset to train on and how to split, normalise, batch and augment it.

    ``normalize``: ``channel`` (training mean/std per channel), ``series`` (each sequence
    z-normalised), ``none``, or ``auto`` (the recipe decides from the data); ``true`` and
    ``false`` mean ``channel`` and ``none``. ``batch_size: auto``: 16 for training splits of
    fewer than 200 sequences, else 32. ``val_sample``: validate on a fixed, seeded sample of
    that many sequences of the validation split (``null``: all of it). ``workers``:
    ``DataLoader`` worker processes that read training batches of ``npy:`` data (0: none).
    """

    name: str = "japanese-vowels"
    val_fraction: float = checked(0.2, open_interval(0, 1))
    normalize: Literal["auto", "channel", "series", "none"] | bool = AUTO
    batch_size: Literal["auto"] | int = checked(AUTO, auto_or(at_least(1)))
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    val_sample: int | None = checked(None, optional(at_least(1)))
    workers: int = checked(0, at_least(0))


@dataclass(frozen=True)
class TrainConfig:
    """How ``nasx train`` trains the supernet (sandwich rule, in-place KD, DεpS).

    ``auto`` values are decided from the data by :mod:`nasx.recipe` when training starts and
    written to the run's ``config.yaml``.

    Attributes:
        epochs: passes over the training split; ``auto``: enough for the recipe's budget of
            optimizer steps.
        lr: peak learning rate (after the linear warm-up; cosine decay to 0 afterwards).
        weight_decay: decoupled (AdamW) or L2 (SGD) weight decay; never on norms, biases,
            1-D parameters, SSM dynamics (``A_log``, ``log_dt``, ``B``, ``D``) or kernel
            transforms.
        optimizer: ``adamw`` or ``sgd`` (Nesterov, momentum 0.9).
        warmup_epochs: linear LR warm-up length in epochs (may be fractional).
        grad_clip: max global gradient norm; 0 turns clipping off.
        label_smoothing: on the largest subnet's hard-label loss only.
        num_random: random subnets per step besides the largest and the smallest.
        kd_temperature: temperature T of the in-place distillation (KL scaled by T^2).
        delay: fraction of the steps during which only the largest subnet trains (DεpS).
        eps_warmup: epochs over which the smaller subnets' loss scale ε ramps 0 -> 1
            (``auto``: a fixed share of the run).
        shrink: ``deps`` (delay + ε ramp), ``sandwich`` (every step from the start, ε = 1),
            ``progressive`` (DεpS plus elastic dimensions unlocked in stages: kernel, depth and
            stride, width, bits).
        op_choice: op per slot of the largest/smallest subnets: ``sample`` (independent draws),
            ``paired`` (the smallest takes the largest's ops), ``first`` (first allowed op).
        eval_random: fixed random subnets evaluated on the validation split at every
            evaluation.
        eval_every: evaluate the monitored subnets and checkpoint every this many epochs (and
            after the last); ``auto``: often enough for about 50 evaluations in the run.
        calib_batches: training batches for BatchNorm recalibration before each evaluation;
            0: the whole training split as one batch (exact statistics, no sampling noise
            between subnets; memory grows with the split); ``auto``: 0 for training splits
            of up to 1,024 sequences, else 8.
        batches_per_epoch: use only the first N batches of each epoch (null: all).
        device: torch device, e.g. ``cpu`` or ``cuda``.
        threads: CPU threads for torch (``torch.set_num_threads``); null keeps torch's default.
            One thread is the fastest for these small tensors on a shared 2-core machine.
        sync_bn: under ``torchrun``, normalise with the global batch's BatchNorm statistics and
            activation ranges (all-reduced across processes) instead of each process's shard.
        arch: standalone training: path to an arch JSON file; every step trains only that
            subnet on the labels (no sandwich, no distillation), the baseline against which
            one-shot weights are compared. Null: train the supernet.
    """

    epochs: Literal["auto"] | int = checked(AUTO, auto_or(at_least(1)))
    lr: float = checked(3e-3, greater_than(0))
    weight_decay: float = checked(0.01, at_least(0))
    optimizer: Literal["adamw", "sgd"] = "adamw"
    warmup_epochs: float = checked(1.0, at_least(0))
    grad_clip: float = checked(1.0, at_least(0))
    label_smoothing: float = checked(0.1, closed_open(0, 1))
    num_random: int = checked(2, at_least(0))
    kd_temperature: float = checked(1.0, greater_than(0))
    delay: float = checked(0.25, closed_open(0, 1))
    eps_warmup: Literal["auto"] | float = checked(AUTO, auto_or(at_least(0)))
    shrink: Literal["deps", "sandwich", "progressive"] = "deps"
    op_choice: Literal["sample", "paired", "first"] = "sample"
    eval_random: int = checked(3, at_least(0))
    eval_every: Literal["auto"] | int = checked(AUTO, auto_or(at_least(1)))
    calib_batches: Literal["auto"] | int = checked(AUTO, auto_or(at_least(0)))
    batches_per_epoch: int | None = checked(None, optional(at_least(1)))
    device: str = "cpu"
    threads: int | None = checked(1, optional(at_least(1)))
    sync_bn: bool = True
    arch: str | None = None


@dataclass(frozen=True)
class RefitConfig:
    """The chosen subnet fine-tuned on the training and validation splits together before it
    is exported (:mod:`nasx.train.refit`).

    Attributes:
        steps: optimizer steps of the refit; 0 exports the supernet's weights as they are;
            ``auto``: the recipe decides from the training-set size.
        lr: peak learning rate of the refit (cosine decay to 0, no warm-up: the weights are
            trained already).
    """

    steps: Literal["auto"] | int = checked(AUTO, auto_or(at_least(0)))
    lr: float = checked(1e-3, greater_than(0))


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; written to ``runs/<name>/config.yaml`` with every ``auto``
    value resolved (``space: auto`` picks a preset from the sequence length)."""

    seed: int = checked(0, at_least(0))
    space: str = AUTO
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    refit: RefitConfig = field(default_factory=RefitConfig)
