"""The files a training run writes besides its checkpoints and weights: ``archs.json`` (read
back by :func:`nasx.runs.readers.read_archs`) and ``history.json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasx.runs.folders import atomic_write_text
from nasx.runs.layout import ARCHS_FILE, HISTORY_FILE
from nasx.search_spaces import Arch, arch_id


def write_archs(run_dir: Path, archs: Sequence[tuple[str, Arch]]) -> None:
    """Write ``archs.json``: ``{name: {"id": arch_id, "arch": arch}}`` in the given order."""
    data = {name: {"id": arch_id(arch), "arch": arch} for name, arch in archs}
    atomic_write_text(run_dir / ARCHS_FILE, json.dumps(data, indent=1) + "\n")


def write_history(run_dir: Path, history: list[dict[str, Any]]) -> None:
    """Write ``history.json`` (a list with one entry per finished epoch)."""
    atomic_write_text(run_dir / HISTORY_FILE, json.dumps(history, indent=1) + "\n")
