"""Load and validate search-space YAML files (presets or user files).

Every problem is reported as one :class:`~nasx.errors.SpaceError` line naming the file, the key
and what is allowed, e.g. ``my.yaml: stages[1].ops: unknown op 'tcn' (allowed: conv, lstm, ssm,
attn, gru)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from nasx.errors import SpaceError
from nasx.ops import OPS, OpSpace
from nasx.search_spaces.schema import (
    OP_TYPES,
    HeadSpace,
    QuantSpace,
    SearchSpace,
    StageSpace,
    StemSpace,
)
from nasx.yamlfiles import parse_yaml, shipped_yaml_names

_TOP_KEYS = ("name", "causal", "stem", "stages", "ops", "quant", "head", "sampling")
_REQUIRED_TOP = ("name", "stem", "stages")
_STEM_KEYS = ("width", "kernel", "stride")
_STAGE_KEYS = ("depth", "width", "stride", "ops")
_ALLOWED_BITS = (*range(2, 17), 32)


class _Checker:
    """Validates one parsed YAML document, prefixing every error with the file name."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> SpaceError:
        return SpaceError(f"{self.source}: {key}: {problem}")

    def mapping(self, value: Any, key: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping with keys {', '.join(allowed)}")
        for k in value:
            if k not in allowed:
                raise self.fail(
                    f"{key}.{k}" if key else str(k), f"unknown key (allowed: {', '.join(allowed)})"
                )
        return value

    def choices(
        self, value: Any, key: str, kind: str, ok: Callable[[Any], bool], rule: str
    ) -> tuple[Any, ...]:
        """A non-empty list (or a single value) of distinct values, returned sorted."""
        items = list(value) if isinstance(value, list | tuple) else [value]
        if not items:
            raise self.fail(key, f"empty choice list (give at least one {rule})")
        for v in items:
            is_num = isinstance(v, int | float) and not isinstance(v, bool)
            if kind == "int" and not (is_num and float(v).is_integer()):
                raise self.fail(key, f"{v!r} is not an integer (allowed: {rule})")
            if kind == "number" and not is_num:
                raise self.fail(key, f"{v!r} is not a number (allowed: {rule})")
            if not ok(v):
                raise self.fail(key, f"{v!r} is not allowed (allowed: {rule})")
        vals = [
            int(v) if kind == "int" else float(v) if not float(v).is_integer() else int(v)
            for v in items
        ]
        if len(set(vals)) != len(vals):
            raise self.fail(key, f"duplicate choices in {vals}")
        return tuple(sorted(vals))

    def ints(self, value: Any, key: str, minimum: int = 1) -> tuple[int, ...]:
        return self.choices(value, key, "int", lambda v: v >= minimum, f"integers >= {minimum}")

    def odd(self, value: Any, key: str) -> tuple[int, ...]:
        return self.choices(
            value, key, "int", lambda v: v >= 1 and int(v) % 2 == 1, "odd integers >= 1"
        )

    def ratios(self, value: Any, key: str) -> tuple[float, ...]:
        return self.choices(value, key, "number", lambda v: 0 < v <= 64, "numbers in (0, 64]")

    def bits(self, value: Any, key: str) -> tuple[int, ...]:
        return self.choices(
            value, key, "int", lambda v: int(v) in _ALLOWED_BITS, "2..16, or 32 for float"
        )

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"{value!r} is not a boolean (allowed: true, false)")
        return value

    def required(self, m: Mapping[str, Any], key: str, name: str) -> Any:
        if name not in m:
            raise self.fail(f"{key}.{name}" if key else name, "missing required key")
        return m[name]


def _op_space(c: _Checker, op: str, raw: Mapping[str, Any]) -> OpSpace:
    spec = OPS[op]
    key = f"ops.{op}"
    return spec.parse(c, {**spec.defaults, **c.mapping(raw, key, spec.yaml_keys)}, key)


def _stage(c: _Checker, raw: Any, i: int) -> StageSpace:
    key = f"stages[{i}]"
    m = c.mapping(raw, key, _STAGE_KEYS)
    ops_raw = c.required(m, key, "ops")
    ops_list = list(ops_raw) if isinstance(ops_raw, list | tuple) else [ops_raw]
    if not ops_list:
        raise c.fail(f"{key}.ops", f"empty choice list (allowed: {', '.join(OP_TYPES)})")
    for op in ops_list:
        if op not in OP_TYPES:
            raise c.fail(f"{key}.ops", f"unknown op {op!r} (allowed: {', '.join(OP_TYPES)})")
    if len(set(ops_list)) != len(ops_list):
        raise c.fail(f"{key}.ops", f"duplicate ops in {ops_list}")
    return StageSpace(
        depth=c.ints(c.required(m, key, "depth"), f"{key}.depth"),
        width=c.ints(c.required(m, key, "width"), f"{key}.width"),
        stride=c.ints(m.get("stride", 1), f"{key}.stride"),
        ops=tuple(op for op in OP_TYPES if op in ops_list),
    )


def space_from_dict(raw: Any, source: str = "<memory>") -> SearchSpace:
    """Validate a parsed YAML document and build the :class:`SearchSpace`.

    Raises:
        SpaceError: one line naming ``source``, the key and the allowed values.
    """
    c = _Checker(source)
    top = c.mapping(raw, "", _TOP_KEYS)
    for k in _REQUIRED_TOP:
        c.required(top, "", k)
    name = top["name"]
    if not isinstance(name, str) or not name.strip():
        raise c.fail("name", "expected a non-empty string")
    stem_raw = c.mapping(top["stem"], "stem", _STEM_KEYS)
    stem = StemSpace(
        width=c.ints(c.required(stem_raw, "stem", "width"), "stem.width"),
        kernel=c.odd(stem_raw.get("kernel", 3), "stem.kernel"),
        stride=c.ints(stem_raw.get("stride", 1), "stem.stride"),
    )
    stages_raw = top["stages"]
    if not isinstance(stages_raw, list) or not stages_raw:
        raise c.fail("stages", "expected a non-empty list of stages")
    stages = tuple(_stage(c, s, i) for i, s in enumerate(stages_raw))
    ops_raw = c.mapping(top.get("ops") or {}, "ops", OP_TYPES)
    used = {op for s in stages for op in s.ops}
    given = {op: _op_space(c, op, ops_raw[op] or {}) for op in OP_TYPES if op in ops_raw}
    ops = {op: given.get(op) or _op_space(c, op, {}) for op in OP_TYPES if op in used}
    quant_raw = c.mapping(top.get("quant") or {}, "quant", ("weight_bits", "act_bits"))
    quant = QuantSpace(
        weight_bits=c.bits(quant_raw.get("weight_bits", 32), "quant.weight_bits"),
        act_bits=c.bits(quant_raw.get("act_bits", 32), "quant.act_bits"),
    )
    head_raw = c.mapping(top.get("head") or {}, "head", ("pool", "dropout"))
    if head_raw.get("pool", "mean") != "mean":
        raise c.fail("head.pool", f"{head_raw['pool']!r} is not allowed (allowed: mean)")
    dropout = head_raw.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise c.fail("head.dropout", f"{dropout!r} is not allowed (allowed: a number in [0, 1))")
    sampling = c.mapping(top.get("sampling") or {}, "sampling", ("op_weights",))
    weights_raw = c.mapping(sampling.get("op_weights") or {}, "sampling.op_weights", OP_TYPES)
    op_weights: dict[str, float] = {}
    for op, w in weights_raw.items():
        if isinstance(w, bool) or not isinstance(w, int | float) or w < 0:
            raise c.fail(
                f"sampling.op_weights.{op}", f"{w!r} is not allowed (allowed: a number >= 0)"
            )
        op_weights[op] = float(w)
    for i, s in enumerate(stages):
        if op_weights and sum(op_weights.get(op, 1.0) for op in s.ops) <= 0:
            raise c.fail(f"stages[{i}].ops", "every op of this stage has sampling weight 0")
    return SearchSpace(
        name=name.strip(),
        stem=stem,
        stages=stages,
        ops=ops,
        quant=quant,
        head=HeadSpace(pool="mean", dropout=float(dropout)),
        causal=c.boolean(top.get("causal", False), "causal"),
        op_weights=op_weights,
        source=source,
    )


def preset_names() -> list[str]:
    """Names of the search spaces shipped with nasx (``nasx/search_spaces/presets/*.yaml``)."""
    return shipped_yaml_names("nasx.search_spaces", "presets")


def load_space(name_or_path: str | Path) -> SearchSpace:
    """Load a preset by name (``tiny``, ``hybrid-mcu``, ``hybrid-gpu``) or a YAML file by path.

    Example:
        >>> space = load_space("tiny")
        >>> space.name
        'tiny'
    """
    text_arg = str(name_or_path)
    path = Path(text_arg)
    is_path = isinstance(name_or_path, Path) or path.suffix in (".yaml", ".yml") or "/" in text_arg
    if not is_path:
        if text_arg not in preset_names():
            raise SpaceError(
                f"unknown search space {text_arg!r} (presets: "
                f"{', '.join(preset_names())}; or give a path to a .yaml file)"
            )
        text = (resources.files("nasx.search_spaces") / "presets" / f"{text_arg}.yaml").read_text()
        source = f"preset {text_arg}"
        return space_from_dict(parse_yaml(text, source, SpaceError), source)
    if not path.is_file():
        raise SpaceError(
            f"{path}: search-space file not found (presets: {', '.join(preset_names())})"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"{path}: cannot read the file ({exc.__class__.__name__})") from None
    return space_from_dict(parse_yaml(text, str(path), SpaceError), str(path))


def space_to_dict(space: SearchSpace) -> dict[str, Any]:
    """The space as plain YAML-able data; :func:`space_from_dict` of it gives the same space."""
    out: dict[str, Any] = {
        "name": space.name,
        "causal": space.causal,
        "stem": {k: list(v) for k, v in asdict(space.stem).items()},
        "stages": [
            {
                "depth": list(s.depth),
                "width": list(s.width),
                "stride": list(s.stride),
                "ops": list(s.ops),
            }
            for s in space.stages
        ],
        "ops": {},
        "quant": {
            "weight_bits": list(space.quant.weight_bits),
            "act_bits": list(space.quant.act_bits),
        },
        "head": {"pool": space.head.pool, "dropout": space.head.dropout},
    }
    for op, spec in space.ops.items():
        out["ops"][op] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in asdict(spec).items()
        }
    if space.op_weights:
        out["sampling"] = {"op_weights": dict(space.op_weights)}
    return out


def dump_space_yaml(space: SearchSpace) -> str:
    """The space as YAML text (written next to a run as ``space.yaml``)."""
    return yaml.safe_dump(space_to_dict(space), sort_keys=False, default_flow_style=None)
