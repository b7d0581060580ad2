"""Architectures (subnets) as plain JSON data: validation, canonical form and a stable id.

An arch looks like::

    {"stem": {"width": 16, "kernel": 5, "stride": 1, "wbits": 8, "abits": 8},
     "stages": [{"depth": 2, "width": 32, "stride": 1, "wbits": 8, "abits": 8,
                 "blocks": [<block>, <block>]}]}

where a block is ``{"op": <name>, <that op's choices>, "wbits": .., "abits": ..}`` (the op
block types of :mod:`nasx.ops`, with an example there).

``wbits``/``abits`` of the stem and of a stage belong to the stem convolution and to the stage's
entry convolution; each block has its own. ``blocks`` holds exactly ``depth`` entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, cast

from nasx.errors import ArchError
from nasx.ops import Block
from nasx.search_spaces.schema import OP_CHOICE_KEYS, SearchSpace


class StemChoices(TypedDict):
    """The stem convolution's choices."""

    width: int
    kernel: int
    stride: int
    wbits: int
    abits: int


# One block: its op, its bits and only the choice keys its op declares (the union of the ops'
# block types, e.g. nasx.ops.conv.ConvBlock: kernel/expand; "op" tells them apart).
BlockChoices = Block


class StageChoices(TypedDict):
    """A stage: its entry convolution's choices and ``depth`` blocks."""

    depth: int
    width: int
    stride: int
    wbits: int
    abits: int
    blocks: list[BlockChoices]


class Arch(TypedDict):
    """A subnet (module docstring)."""

    stem: StemChoices
    stages: list[StageChoices]

_STEM_KEYS = ("width", "kernel", "stride", "wbits", "abits")
_STAGE_KEYS = ("depth", "width", "stride", "wbits", "abits", "blocks")


def _fmt(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _pick(raw: Mapping[str, Any], key: str, where: str, choices: Sequence[Any]) -> Any:
    if key not in raw:
        raise ArchError(f"arch: {where}.{key}: missing (allowed: {_fmt(choices)})")
    value = raw[key]
    for c in choices:
        if isinstance(value, int | float) and not isinstance(value, bool) and value == c:
            return c
    raise ArchError(f"arch: {where}.{key}: {value!r} is not a choice (allowed: {_fmt(choices)})")


def _check_keys(raw: Any, where: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ArchError(f"arch: {where}: expected an object with keys {_fmt(allowed)}")
    extra = [k for k in raw if k not in allowed]
    if extra:
        raise ArchError(f"arch: {where}.{extra[0]}: unknown key (allowed: {_fmt(allowed)})")
    return raw


def canonical_arch(space: SearchSpace, arch: Any) -> Arch:
    """Validate ``arch`` against ``space`` and return it in canonical form.

    Canonical form: only the keys above, each value one of the space's choices (integral floats
    become ints), blocks trimmed to nothing but their op's keys.

    Raises:
        ArchError: one line naming the key, the bad value and the allowed choices.
    """
    q = space.quant
    top = _check_keys(arch, "arch", ("stem", "stages"))
    if "stem" not in top or "stages" not in top:
        raise ArchError("arch: expected an object with keys stem, stages")
    raw_stem = _check_keys(top["stem"], "stem", _STEM_KEYS)
    stem = {
        "width": _pick(raw_stem, "width", "stem", space.stem.width),
        "kernel": _pick(raw_stem, "kernel", "stem", space.stem.kernel),
        "stride": _pick(raw_stem, "stride", "stem", space.stem.stride),
        "wbits": _pick(raw_stem, "wbits", "stem", q.weight_bits),
        "abits": _pick(raw_stem, "abits", "stem", q.act_bits),
    }
    raw_stages = top["stages"]
    if not isinstance(raw_stages, list) or len(raw_stages) != len(space.stages):
        raise ArchError(
            f"arch: stages: expected a list of {len(space.stages)} stages "
            f"(the space {space.name!r} has {len(space.stages)})"
        )
    stages = []
    for i, (raw, ss) in enumerate(zip(raw_stages, space.stages, strict=True)):
        where = f"stages[{i}]"
        raw = _check_keys(raw, where, _STAGE_KEYS)
        depth = _pick(raw, "depth", where, ss.depth)
        blocks_raw = raw.get("blocks")
        if not isinstance(blocks_raw, list) or len(blocks_raw) != depth:
            raise ArchError(
                f"arch: {where}.blocks: expected a list of {depth} blocks (depth {depth})"
            )
        blocks = []
        for j, b in enumerate(blocks_raw):
            bw = f"{where}.blocks[{j}]"
            if not isinstance(b, Mapping) or "op" not in b:
                raise ArchError(f"arch: {bw}.op: missing (allowed: {_fmt(ss.ops)})")
            op = b["op"]
            if op not in ss.ops:
                raise ArchError(f"arch: {bw}.op: {op!r} is not a choice (allowed: {_fmt(ss.ops)})")
            keys = OP_CHOICE_KEYS[op]
            _check_keys(b, bw, ("op", *keys, "wbits", "abits"))
            spec = space.ops[op]
            block: dict[str, Any] = {"op": op}
            for k in keys:
                block[k] = _pick(b, k, bw, getattr(spec, k))
            block["wbits"] = _pick(b, "wbits", bw, q.weight_bits)
            block["abits"] = _pick(b, "abits", bw, q.act_bits)
            blocks.append(block)
        stages.append(
            {
                "depth": depth,
                "width": _pick(raw, "width", where, ss.width),
                "stride": _pick(raw, "stride", where, ss.stride),
                "wbits": _pick(raw, "wbits", where, q.weight_bits),
                "abits": _pick(raw, "abits", where, q.act_bits),
                "blocks": blocks,
            }
        )
    return cast(Arch, {"stem": stem, "stages": stages})  # its shape was checked above


def arch_json(arch: Arch) -> str:
    """Compact canonical JSON text (sorted keys, no spaces): the input of :func:`arch_id`."""
    return json.dumps(arch, sort_keys=True, separators=(",", ":"))


def arch_id(arch: Arch) -> str:
    """Stable 12-hex-digit id of a canonical arch (SHA-1 of its canonical JSON)."""
    return hashlib.sha1(arch_json(arch).encode("utf-8")).hexdigest()[:12]


def load_arch(space: SearchSpace, path: str | Path) -> Arch:
    """Read an arch JSON file and validate it against ``space``.

    The file holds an arch, or an object ``{"id": ..., "arch": {...}}`` as printed by
    ``nasx space sample`` (the arch is taken from it; the id is recomputed, not trusted).
    """
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchError(f"{p}: arch file not found") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArchError(f"{p}: not valid JSON ({exc})".splitlines()[0]) from None
    if isinstance(raw, Mapping) and "arch" in raw and "stem" not in raw:
        raw = raw["arch"]
    try:
        return canonical_arch(space, raw)
    except ArchError as exc:
        raise ArchError(f"{p}: {str(exc).removeprefix('arch: ')}") from None


def describe_arch(arch: Arch) -> str:
    """A one-line human summary, e.g. ``stem16k5 | 32x2[conv k5e2 w8a8, lstm h0.5] | ...``."""

    def bits(d: Mapping[str, Any]) -> str:
        return "" if d["wbits"] == 32 and d["abits"] == 32 else f" w{d['wbits']}a{d['abits']}"

    parts = [f"stem{arch['stem']['width']}k{arch['stem']['kernel']}s{arch['stem']['stride']}"]
    for st in arch["stages"]:
        blocks = []
        for b in st["blocks"]:
            values: Mapping[str, Any] = b
            choice = "".join(f"{k[0]}{values[k]}" for k in OP_CHOICE_KEYS[b["op"]])
            blocks.append(f"{b['op']} {choice}{bits(b)}")
        parts.append(f"{st['width']}s{st['stride']}[{', '.join(blocks)}]")
    return " | ".join(parts)
