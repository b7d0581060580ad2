"""A small structural check for JSON documents nasx reads back, with one-line messages.

A schema is a type name (``"int"``, ``"num"``, ``"str"``, ``"bool"``, ``"any"``; ``"?"`` after it
also allows null), a one-item list (a list of such items), a dict of key -> schema (a key
ending in ``"!"`` is required; other keys may be missing; keys not listed are not checked) or
:class:`Nullable` of a schema.

Example:
    >>> problem({"n": 3, "ids": ["a", 1]}, {"n!": "int", "ids": ["str"]})
    'ids[1]: expected a string, got 1'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

_KINDS = {
    "int": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "num": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)
            and not (isinstance(v, float) and math.isnan(v))),
    "str": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "any": ("anything", lambda v: True),
}


@dataclass(frozen=True)
class Nullable:
    """``schema``, or null."""

    schema: Any


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def problem(value: Any, schema: Any, where: str = "") -> str | None:
    """The first way ``value`` does not fit ``schema`` (``"<where>: expected ..."``), or
    ``None`` when it fits."""
    at = where or "top level"
    if isinstance(schema, Nullable):
        return None if value is None else problem(value, schema.schema, where)
    if isinstance(schema, str):
        kind, nullable = schema.rstrip("?"), schema.endswith("?")
        if value is None and nullable:
            return None
        name, ok = _KINDS[kind]
        return None if ok(value) else f"{at}: expected {name}, got {_short(value)}"
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{at}: expected a list, got {_short(value)}"
        for i, item in enumerate(value):
            found = problem(item, schema[0], f"{where}[{i}]")
            if found:
                return found
        return None
    if not isinstance(value, dict):
        return f"{at}: expected an object, got {_short(value)}"
    for key, sub in schema.items():
        name = key.rstrip("!")
        path = f"{where}.{name}" if where else name
        if name not in value:
            if key.endswith("!"):
                return f"{path}: missing"
            continue
        found = problem(value[name], sub, path)
        if found:
            return found
    return None
