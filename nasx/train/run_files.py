"""The files a training run writes into ``runs/<name>/`` and how to read them back.

::

    config.yaml            resolved config
    space.yaml             the search space (validated, defaults filled in)
    archs.json             the subnets evaluated every epoch: name -> {"id", "arch"}
    history.json           per epoch: step, train losses, validation results
    checkpoints/last.pt    resumable state (model, optimizer, scheduler, RNGs, counters)
    supernet.safetensors   final weights (BatchNorm statistics of the largest subnet)
    tb/                    TensorBoard scalars
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasx.runs import atomic_write_text, readers
from nasx.runs.layout import (  # noqa: F401  (the names the training code uses)
    ARCHS_FILE,
    CHECKPOINT,
    HISTORY_FILE,
    SPACE_FILE,
    SUPERNET_FILE,
    TB_DIR,
)
from nasx.search_spaces import Arch, arch_id


def write_archs(run_dir: Path, archs: Sequence[tuple[str, Arch]]) -> None:
    """Write ``archs.json``: ``{name: {"id": arch_id, "arch": arch}}`` in the given order."""
    data = {name: {"id": arch_id(arch), "arch": arch} for name, arch in archs}
    atomic_write_text(run_dir / ARCHS_FILE, json.dumps(data, indent=1) + "\n")


def read_archs(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Read ``archs.json`` (see :func:`write_archs` and :func:`nasx.runs.readers.read_archs`).

    Raises:
        RunError: the file is missing or is not such a mapping.
    """
    return readers.read_archs(run_dir)


def write_history(run_dir: Path, history: list[dict[str, Any]]) -> None:
    """Write ``history.json`` (a list with one entry per finished epoch)."""
    atomic_write_text(run_dir / HISTORY_FILE, json.dumps(history, indent=1) + "\n")
