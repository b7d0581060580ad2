"""Run configuration: nested dataclasses filled from defaults <- a YAML file <- overrides.

A config is a tree of dataclasses whose fields all have defaults. :func:`load_config` starts
from ``cls()``, applies a YAML mapping (``yaml.safe_load``) and then dotted ``key=value``
overrides (each value parsed with ``yaml.safe_load``), checks every value against the field's
type, and finally checks value ranges declared in field metadata (see :class:`Check`).

Supported field types: ``int``, ``float`` (an int is accepted and converted), ``bool``,
``str``, ``X | None``, ``Literal[...]``, ``list[int]``, ``list[float]``, ``list[str]`` and a
nested config dataclass. For a ``str`` field an override's raw text is used when its YAML
value is not a string (``space=123`` sets ``'123'``); a ``float`` field also takes ``1e-3``,
which YAML 1.1 reads as a string.

Example:
    >>> cfg = load_config(RunConfig, None, ["seed=3", "data.val_fraction=0.1"])
    >>> cfg.seed, cfg.data.val_fraction
    (3, 0.1)
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from nasx.errors import ConfigError

T = TypeVar("T")
AUTO = "auto"  # a value the data-aware recipe (nasx.recipe) decides at train time

_NO_VALUE = object()
_EXPONENT_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


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
    ``false`` mean ``channel`` and ``none``.
    """

    name: str = "japanese-vowels"
    val_fraction: float = checked(0.2, open_interval(0, 1))
    normalize: Literal["auto", "channel", "series", "none"] | bool = AUTO
    batch_size: int = checked(32, at_least(1))
    augment: AugmentConfig = field(default_factory=AugmentConfig)


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
            after the last); ``auto``: often enough for about 100 evaluations in the run.
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
    delay: float = checked(0.5, closed_open(0, 1))
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
class RunConfig:
    """Everything a run needs; written to ``runs/<name>/config.yaml`` with every ``auto``
    value resolved (``space: auto`` picks a preset from the sequence length)."""

    seed: int = checked(0, at_least(0))
    space: str = AUTO
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


# ----------------------------------------------------------------------------- types


def _field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved type, in field order."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _describe(tp: Any) -> str:
    """How a type reads in an error message."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is list:
        return f"a list of {_describe(get_args(tp)[0])}"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any) -> Any:
    """Return ``value`` as type ``tp`` (ints widen to float), or ``_NO_VALUE`` if it is not."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if tp is bool:
        return value if isinstance(value, bool) else _NO_VALUE
    if tp is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _NO_VALUE
    if tp is float:
        if isinstance(value, str) and _EXPONENT_FLOAT.match(value):
            return float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else _NO_VALUE
    if tp is str:
        return value if isinstance(value, str) else _NO_VALUE
    if tp is type(None):
        return None if value is None else _NO_VALUE
    if origin in (Union, types.UnionType):
        for arm in get_args(tp):
            converted = _convert(value, arm)
            if converted is not _NO_VALUE:
                return converted
        return _NO_VALUE
    if origin is Literal:
        same = [a for a in get_args(tp) if type(a) is type(value) and a == value]
        return value if same else _NO_VALUE
    if origin is list:
        if not isinstance(value, list):
            return _NO_VALUE
        items = [_convert(v, get_args(tp)[0]) for v in value]
        return _NO_VALUE if any(i is _NO_VALUE for i in items) else items
    raise TypeError(f"unsupported config field type {tp!r}")


def _type_error(key: str, tp: Any, value: Any) -> ConfigError:
    return ConfigError(
        f"config key '{key}' expects {_describe(tp)}, got {value!r} ({type(value).__name__})"
    )


# ----------------------------------------------------------------------------- merging


def _unknown_key(cls: type, key: str, section: str) -> ConfigError:
    valid = ", ".join(sorted(_field_types(cls)))
    where = f"valid keys under '{section}'" if section else "valid keys"
    return ConfigError(f"unknown config key '{key}' ({where}: {valid})")


def _assign(
    cls: type, values: dict[str, Any], parts: list[str], value: Any, raw: str | None, depth: int = 0
) -> None:
    """Set the dotted key ``parts`` to ``value`` inside the nested dict ``values``.

    ``values`` mirrors the dataclass tree of ``cls`` and holds only what was set; ``depth``
    is how many leading ``parts`` were already walked. ``raw`` is an override's value text
    (which a ``str`` field takes as written), ``None`` for YAML file values.
    """
    full_key = ".".join(parts)
    name = parts[depth]
    kinds = _field_types(cls)
    if name not in kinds:
        raise _unknown_key(cls, full_key, ".".join(parts[:depth]))
    tp = kinds[name]
    key = ".".join(parts[: depth + 1])
    if depth + 1 < len(parts):
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(
                f"unknown config key '{full_key}' ('{key}' is {_describe(tp)}, not a section)"
            )
        _assign(tp, values.setdefault(name, {}), parts, value, raw, depth + 1)
        return
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise _type_error(key, tp, value)
        sub = values.setdefault(name, {})
        for sub_name, sub_value in value.items():
            _assign(tp, sub, [*parts[: depth + 1], str(sub_name)], sub_value, None, depth + 1)
        return
    converted = _convert(value, tp)
    if converted is _NO_VALUE and raw is not None:
        converted = _convert(raw, tp)  # str fields take the override's text as written
    if converted is _NO_VALUE:
        raise _type_error(key, tp, value)
    values[name] = converted


def _apply(cfg: T, values: Mapping[str, Any]) -> T:
    """Return ``cfg`` with the nested ``values`` replaced in."""
    changes = {}
    for name, value in values.items():
        current = getattr(cfg, name)
        changes[name] = _apply(current, value) if dataclasses.is_dataclass(current) else value
    return dataclasses.replace(cfg, **changes)  # type: ignore[type-var]


def parse_override(text: str) -> tuple[list[str], Any, str]:
    """Split ``'a.b=value'`` into ``(['a', 'b'], yaml_value, 'value')``.

    The YAML value is ``_NO_VALUE`` when the text is not valid YAML.
    """
    key, sep, value_text = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override '{text}' is not key=value (e.g. seed=1)")
    try:
        value = yaml.safe_load(value_text)
    except yaml.YAMLError:
        value = _NO_VALUE
    return key.strip().split("."), value, value_text


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file as a mapping (empty file -> ``{}``)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file '{p}' not found")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file '{p}' cannot be read ({type(err).__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark is not None else "?"
        raise ConfigError(
            f"config file '{p}' is not valid YAML (line {line}: {err.problem})"
        ) from None
    except yaml.YAMLError as err:
        detail = " ".join(str(err).split())
        raise ConfigError(f"config file '{p}' is not valid YAML ({detail})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file '{p}' must be a mapping of config keys (e.g. 'seed: 1'), "
            f"got a {type(data).__name__}"
        )
    return data


# ----------------------------------------------------------------------------- public API


def load_config(cls: type[T], path: str | Path | None, overrides: Sequence[str]) -> T:
    """Build a ``cls`` config: its defaults, then the YAML file at ``path``, then overrides.

    Args:
        cls: a config dataclass whose fields all have defaults.
        path: a YAML mapping of (nested) keys, or ``None``.
        overrides: ``'key=value'`` strings with dotted keys, applied in order.

    Raises:
        ConfigError: an unreadable or non-mapping file, an unknown key, a value of the
            wrong type, a malformed override, or a value outside its allowed range.
    """
    values: dict[str, Any] = {}
    if path is not None:
        data = read_config_file(path)
        try:
            for name, value in data.items():
                _assign(cls, values, [str(name)], value, None)
        except ConfigError as err:
            raise ConfigError(f"{err} in config file '{Path(path)}'") from None
    for text in overrides:
        parts, value, raw = parse_override(text)
        if value is _NO_VALUE:
            value = raw  # not YAML: only a str field will take it
        _assign(cls, values, parts, value, raw)
    cfg = _apply(cls(), values)
    validate_config(cfg)
    return cfg


def validate_config(cfg: Any, prefix: str = "") -> None:
    """Check every field that declares a :class:`Check` (recursing into sections).

    Raises:
        ConfigError: e.g. ``config key 'data.val_fraction' must be in (0, 1), got 1.5``.
    """
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            validate_config(value, f"{key}.")
            continue
        check = f.metadata.get("check")
        if check is not None and not check.test(value):
            raise ConfigError(f"config key '{key}' must be {check.requirement}, got {value!r}")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain nested dicts and lists, keys in field order."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = config_to_dict(value)
        elif isinstance(value, list):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out


class _ConfigDumper(yaml.SafeDumper):
    """SafeDumper that writes lists on one line (``widths: [16, 24]``)."""


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


_ConfigDumper.add_representer(list, _represent_list)


def dump_config(cfg: Any) -> str:
    """The config as YAML text, keys in field order; :func:`load_config` reads it back."""
    return yaml.dump(
        config_to_dict(cfg), Dumper=_ConfigDumper, sort_keys=False, default_flow_style=False
    )
