"""Generators of invalid inputs for the fuzz tests: random mutations of valid documents."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import yaml
from json_paths import paths

# Values that a mutation puts where a valid one was.
JUNK: list[Any] = [None, True, False, -1, 0, 3.5, -2.5, 10**12, "x", "", "32", [], {}, [None],
                   [[1]], {"a": 1}, [-4], [0.0], [1, 1], math.inf, "null", [True]]



def _parent(doc: Any, path: tuple) -> tuple[Any, Any]:
    node = doc
    for k in path[:-1]:
        node = node[k]
    return node, path[-1]


def mutate_doc(doc: Any, rng: np.random.Generator) -> Any:
    """``doc`` with one random structural mutation: a value replaced by junk, a key deleted, an
    unknown key added, a value wrapped in a list or a mapping, or a list emptied."""
    doc = copy.deepcopy(doc)
    all_paths = paths(doc)
    path = all_paths[int(rng.integers(len(all_paths)))]
    parent, key = _parent(doc, path)
    kind = int(rng.integers(5))
    if kind == 0:
        parent[key] = copy.deepcopy(JUNK[int(rng.integers(len(JUNK)))])
    elif kind == 1 and isinstance(parent, dict):
        del parent[key]
    elif kind == 2:
        target = parent if isinstance(parent, dict) else doc
        target[f"bogus_{int(rng.integers(1000))}"] = 1
    elif kind == 3:
        parent[key] = {"value": parent[key]}
    else:
        parent[key] = [] if isinstance(parent[key], list) else [parent[key], parent[key]]
    return doc


def mutate_text(text: str, rng: np.random.Generator) -> str:
    """``text`` damaged at the character level: truncated, a byte run inserted, a colon turned
    into an equals sign, or a tab indentation."""
    pos = int(rng.integers(1, max(len(text), 2)))
    kind = int(rng.integers(4))
    if kind == 0:
        return text[:pos]
    if kind == 1:
        return text[:pos] + "\x00{[\t:" + text[pos:]
    if kind == 2:
        return text.replace(":", "=", 1 + int(rng.integers(3)))
    return text.replace("\n  ", "\n\t", 1) + "\n\t- bad"


def invalid_yaml_texts(valid: Any, n: int, seed: int) -> list[str]:
    """``n`` YAML texts made from ``valid`` by document or text mutations (some may still be
    valid; the tests count the ones that are rejected)."""
    rng = np.random.default_rng(seed)
    base = yaml.safe_dump(valid, sort_keys=False)
    out = []
    for i in range(n):
        if i % 4 == 3:
            out.append(mutate_text(base, rng))
        else:
            out.append(yaml.safe_dump(mutate_doc(valid, rng), sort_keys=False))
    return out
