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

from nasx.errors import RunError
from nasx.runs import atomic_write_text
from nasx.search_spaces import Arch, arch_id

SPACE_FILE = "space.yaml"
ARCHS_FILE = "archs.json"
HISTORY_FILE = "history.json"
CHECKPOINT = Path("checkpoints") / "last.pt"
SUPERNET_FILE = "supernet.safetensors"
TB_DIR = "tb"


def write_archs(run_dir: Path, archs: Sequence[tuple[str, Arch]]) -> None:
    """Write ``archs.json``: ``{name: {"id": arch_id, "arch": arch}}`` in the given order."""
    data = {name: {"id": arch_id(arch), "arch": arch} for name, arch in archs}
    atomic_write_text(run_dir / ARCHS_FILE, json.dumps(data, indent=1) + "\n")


def read_archs(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Read ``archs.json`` (see :func:`write_archs`).

    Raises:
        RunError: the file is missing or is not such a mapping.
    """
    path = run_dir / ARCHS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: not found; is '{run_dir}' a folder written by nasx train?") \
            from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunError(f"{path}: not valid JSON; rerun nasx train --resume to rewrite it") \
            from None
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and "id" in v and "arch" in v for v in data.values()
    ):
        raise RunError(f"{path}: expected a mapping of name -> {{id, arch}}")
    return data


def write_history(run_dir: Path, history: list[dict[str, Any]]) -> None:
    """Write ``history.json`` (a list with one entry per finished epoch)."""
    atomic_write_text(run_dir / HISTORY_FILE, json.dumps(history, indent=1) + "\n")
