"""The files of a run's searches; no search result is ever replaced.

::

    search/0001/pareto.json, history.csv    the first search
    search/0002/...                         the next one, and so on
    search/pareto.json, history.csv         copies of the latest search's (with "search": "0002")

A search that fails (a budget no evaluated subnet meets, an interrupt) writes none of them.
A ``search/pareto.json`` from before the numbered folders existed is filed as the first
numbered search before the next search is written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from nasx.errors import NasxError, RunError
from nasx.runs import atomic_write_bytes
from nasx.runs.layout import PARETO_FILE, SEARCH_DIR, SEARCH_HISTORY_FILE
from nasx.search.archive import Archive
from nasx.search.budgets import Budget

_NUMBERED = re.compile(r"^\d{4,}$")
_LIMIT_COSTS = {"latency": ("latency_ms", "ms"), "sram": ("sram_kb", "KB"),
                "flash": ("flash_kb", "KB")}


class UnmetBudgetError(NasxError):
    """A budget that no subnet evaluated by the search meets."""


def output_paths(run_dir: Path) -> tuple[Path, Path]:
    """``(R/search/pareto.json, R/search/history.csv)``: the latest search's files."""
    folder = Path(run_dir) / SEARCH_DIR
    return folder / PARETO_FILE, folder / SEARCH_HISTORY_FILE


def search_folders(run_dir: Path) -> list[Path]:
    """The numbered search folders of ``run_dir``, oldest first."""
    folder = Path(run_dir) / SEARCH_DIR
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir() and _NUMBERED.match(p.name)),
                  key=lambda p: int(p.name))


def check_outputs_free(run_dir: Path, overwrite: bool) -> None:
    """Refuse to make a new search the latest unless ``overwrite``.

    Raises:
        RunError: ``R/search/pareto.json`` or ``history.csv`` exists and ``overwrite`` is off.
    """
    existing = [p for p in output_paths(run_dir) if p.exists()]
    if existing and not overwrite:
        raise RunError(f"{existing[0]} holds an earlier search; pass --overwrite to make a new "
                       f"search the latest (every search stays in its numbered folder under "
                       f"{existing[0].parent})")


def _file_unnumbered(run_dir: Path) -> None:
    """File a latest search that has no numbered folder (written by an older nasx) as one."""
    pareto, history = output_paths(run_dir)
    if not pareto.is_file() or search_folders(run_dir):
        return
    first = pareto.parent / "0001"
    first.mkdir()
    for path in (pareto, history):
        if path.is_file():
            atomic_write_bytes(first / path.name, path.read_bytes())


def write_search(run_dir: Path, doc: dict[str, Any], history_text: str
                 ) -> tuple[dict[str, Any], Path, Path]:
    """Write a new numbered search folder with ``doc`` (``pareto.json``) and ``history_text``
    (``history.csv``), then make it the latest; return the document as written (with
    ``"search"``, the folder's number) and the latest ``(pareto, history)`` paths."""
    pareto, history = output_paths(run_dir)
    pareto.parent.mkdir(parents=True, exist_ok=True)
    _file_unnumbered(run_dir)
    done = search_folders(run_dir)
    number = int(done[-1].name) + 1 if done else 1
    folder = pareto.parent / f"{number:04d}"
    folder.mkdir()
    doc = {**doc, "search": folder.name}
    pareto_bytes = (json.dumps(doc, indent=1) + "\n").encode()
    for target in (folder, pareto.parent):
        atomic_write_bytes(target / history.name, history_text.encode())
        atomic_write_bytes(target / pareto.name, pareto_bytes)
    return doc, pareto, history


def closest_subnet(archive: Archive, budget: Budget) -> tuple[int, str] | None:
    """The row of ``archive`` nearest to meeting ``budget`` (the least worst ratio of a cost to
    its limit, among the subnets the device supports) and how it misses, e.g.
    ``"sram 3.2 KB > 1 KB"``; ``None`` for an empty archive."""
    if len(archive) == 0:
        return None
    ratios = np.zeros(len(archive))  # (N,) worst cost / limit
    for metric, limit in budget.limits().items():
        cost = archive.cost(_LIMIT_COSTS[metric][0])
        ratios = np.maximum(ratios, cost / max(limit, 1e-12))
    supported = archive.cost("supported").astype(bool)
    ratios = np.where(supported, ratios, np.inf) if supported.any() else ratios
    row = int(np.argmin(ratios))
    misses = []
    for metric, limit in budget.limits().items():
        name, unit = _LIMIT_COSTS[metric]
        value = float(archive.cost(name)[row])
        if value > limit:
            misses.append(f"{metric} {value:.4g} {unit} > {limit:g} {unit}")
    if not supported[row]:
        misses.append(f"bit-widths {budget.device} does not support")
    return row, ", ".join(misses) or "meets every limit but not the search's constraints"
