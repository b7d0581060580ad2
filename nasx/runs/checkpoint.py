"""Training checkpoints: one state dict written atomically, read with ``weights_only=True``.

A checkpoint holds the model, optimizer and scheduler state dicts, the RNG states (torch,
numpy's global generator, Python's ``random``), the step and epoch counters and the history of
evaluations (as JSON text). It is serialised with ``torch.save`` into bytes and written with
:func:`nasx.runs.atomic_write_bytes` (temporary file, fsync, rename), so a crash leaves the old
checkpoint or the new one; a full disk leaves the old one. The checkpoint it replaces is kept
as ``prev.pt`` beside it, and :func:`load_resume_checkpoint` falls back to that one when the
latest is unreadable. Loading never unpickles arbitrary objects: every value is a tensor, a
number, a string, or a list/dict of them (``weights_only=True`` refuses anything else).
"""

from __future__ import annotations

import io
import pickle
import random
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from nasx.errors import RunError
from nasx.runs.folders import atomic_write_bytes
from nasx.runs.layout import PREVIOUS_CHECKPOINT_NAME

FORMAT = "nasx-train-checkpoint-1"


def rng_state() -> dict[str, Any]:
    """The torch, numpy (global) and Python ``random`` states as tensors and numbers."""
    legacy = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state(legacy=True))
    kind, keys, pos, has_gauss, gauss = legacy
    version, py_state, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": int(version), "state": torch.tensor(py_state, dtype=torch.int64),
                   "gauss": py_gauss},
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss"]))


def previous_path(path: Path) -> Path:
    """Where the checkpoint that ``path`` replaced is kept (``prev.pt`` beside it)."""
    return path.with_name(PREVIOUS_CHECKPOINT_NAME)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus the format tag) to ``path`` atomically; the checkpoint it replaces
    becomes :func:`previous_path`.

    Raises:
        RunError: the write failed (e.g. a full disk); ``path`` still holds the old checkpoint.
    """
    buf = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buf)
    try:
        atomic_write_bytes(path, buf.getvalue(), backup=previous_path(path))
    except OSError as err:
        kept = "the previous checkpoint is kept" if path.is_file() else "no checkpoint is kept"
        raise RunError(f"{path}: could not write the checkpoint ({err.strerror or err}); {kept}; "
                       "free space or fix the folder, then rerun with --resume") from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``, on CPU).

    Raises:
        RunError: a missing, truncated or foreign file.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RunError(f"{path}: checkpoint not found") from None
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RunError(f"{path}: not a readable checkpoint ({first}); "
                       "delete it to restart the run from scratch") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise RunError(f"{path}: not a nasx training checkpoint (expected format {FORMAT!r})")
    return state


def load_resume_checkpoint(path: Path) -> tuple[dict[str, Any] | None, Path | None, str]:
    """The checkpoint to resume from: ``path``, or :func:`previous_path` when ``path`` is
    unreadable.

    Returns:
        ``(state, file, warning)``: ``(None, None, "")`` when neither file exists (start from
        scratch); ``warning`` is non-empty when the previous checkpoint had to be used.

    Raises:
        RunError: ``path`` is unreadable and there is no readable previous checkpoint.
    """
    prev = previous_path(path)
    if not path.is_file():
        if not prev.is_file():
            return None, None, ""
        return load_checkpoint(prev), prev, f"{path} is missing; resuming from {prev}"
    try:
        return load_checkpoint(path), path, ""
    except RunError as err:
        if not prev.is_file():
            raise
        try:
            state = load_checkpoint(prev)
        except RunError:
            raise err from None
        return state, prev, f"{err}; resuming from {prev} instead"
