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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from nasx.config_schema import (
    AUTO,
    AugmentConfig,
    Check,
    DataConfig,
    RefitConfig,
    RunConfig,
    TrainConfig,
    at_least,
    auto_or,
    checked,
    closed_open,
    greater_than,
    open_interval,
    optional,
)
from nasx.errors import ConfigError

__all__ = [
    "AUTO",
    "AugmentConfig",
    "Check",
    "DataConfig",
    "RefitConfig",
    "RunConfig",
    "TrainConfig",
    "at_least",
    "auto_or",
    "checked",
    "closed_open",
    "config_to_dict",
    "dump_config",
    "greater_than",
    "load_config",
    "open_interval",
    "optional",
    "parse_override",
    "read_config_file",
    "validate_config",
]

T = TypeVar("T")

_NO_VALUE = object()
_EXPONENT_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


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
