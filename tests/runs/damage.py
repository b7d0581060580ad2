"""Hypothesis strategies for damaged copies of the files nasx reads back, and the check every
damaged copy must pass: accepted, or rejected with one ``NasxError`` line (never another
exception, never a file written)."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from json_paths import paths

from nasx.errors import NasxError

JUNK: list[Any] = [None, True, False, -1, 0, 3.5, -2.5, 10**12, "x", "", "32", [], {}, [None],
                   [[1]], {"a": 1}, [-4], math.inf, -math.inf, "null", "0123456789ab"]



def _mutated(doc: Any, path: tuple, kind: str, junk: Any) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    for k in path[:-1]:
        node = node[k]
    key = path[-1]
    if kind == "replace":
        node[key] = copy.deepcopy(junk)
    elif kind == "delete":
        node.pop(key)  # a dict key or a list item
    elif kind == "wrap":
        node[key] = [node[key]]
    elif kind == "nest":
        node[key] = {"value": node[key]}
    else:  # "duplicate": a list item twice, or a string doubled
        value = node[key]
        node[key] = value * 2 if isinstance(value, (str, list)) else [value, value]
    return doc


def damaged_texts(valid: Any, dump: Callable[[Any], str] = json.dumps
                  ) -> st.SearchStrategy[str]:
    """Texts made from ``dump(valid)``: one value replaced by junk, deleted, wrapped, nested or
    doubled somewhere in the document; or the text truncated, or junk characters inserted."""
    base = dump(valid)
    where = paths(valid)
    junk = st.one_of(st.sampled_from(JUNK), st.integers(-5, 10**6),
                     st.floats(allow_nan=False), st.text(max_size=4))
    structural = st.builds(_mutated, st.just(valid), st.sampled_from(where),
                           st.sampled_from(["replace", "delete", "wrap", "nest", "duplicate"]),
                           junk).map(dump)
    cut = st.integers(0, len(base) - 1).map(lambda n: base[:n])
    inserted = st.builds(lambda n, s: base[:n] + s + base[n:], st.integers(0, len(base)),
                         st.sampled_from(["\x00", "{", "]", ",", "\"", ":", "\t- x\n", "\xff"]))
    replaced = st.builds(lambda n, s: base[:n] + s + base[n + len(s):],
                         st.integers(0, len(base) - 1), st.text(min_size=1, max_size=3))
    return st.one_of(structural, structural, structural, cut, inserted, replaced).filter(
        lambda text: text != base)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of every file under ``folder``."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


class Outcomes:
    """Counts what happened to each damaged text: accepted or rejected in one line."""

    def __init__(self) -> None:
        self.rejected: set[str] = set()
        self.accepted: set[str] = set()

    def check(self, text: str, call: Callable[[], Any]) -> None:
        """Run ``call`` (which reads the damaged ``text``); any exception but a one-line
        ``NasxError`` fails the test."""
        try:
            call()
        except NasxError as err:
            message = str(err)
            assert message and "\n" not in message and "Traceback" not in message, message
            self.rejected.add(text)
        else:
            self.accepted.add(text)

    def summary(self, kind: str) -> str:
        """One line for the test log."""
        return (f"{kind}: {len(self.rejected) + len(self.accepted)} damaged variants, "
                f"{len(self.rejected)} rejected in one line, {len(self.accepted)} accepted")
