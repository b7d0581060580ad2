"""The data a run was trained on: its name (an npz path made absolute, so the run works from
any folder) and its fingerprint, kept in ``<run>/data.json`` and checked by every later
command.

``data.json``::

    {"format": "nasx-data-1", "dataset": "npz:/abs/path/good.npz",
     "sha256": {"X": ..., "y": ..., "lengths": ..., "X_test": ..., "y_test": ...,
                "lengths_test": ..., "all": ...}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nasx.data.fingerprint import ARRAY_NAMES, OPTIONAL_ARRAYS, fingerprint_changes
from nasx.errors import DataError, RunError
from nasx.runs.folders import atomic_write_text
from nasx.runs.layout import DATA_FILE

FORMAT = "nasx-data-1"


def portable_data_name(name: str) -> str:
    """``name`` with an ``npz:`` or ``npy:`` path made absolute (other names unchanged)."""
    kind, sep, rest = name.partition(":")
    if sep and kind in ("npz", "npy") and rest and not Path(rest).is_absolute():
        return f"{kind}:{Path(rest).resolve()}"
    return name


def write_data_record(run_dir: Path, dataset: str, fingerprint: dict[str, str]) -> None:
    """Write ``run_dir/data.json`` for ``dataset`` with its ``fingerprint``."""
    doc = {"format": FORMAT, "dataset": dataset, "sha256": fingerprint}
    atomic_write_text(run_dir / DATA_FILE, json.dumps(doc, indent=1) + "\n")


def read_data_record(run_dir: Path) -> dict[str, Any] | None:
    """The validated ``data.json`` of ``run_dir``; ``None`` for a run from before nasx wrote it.

    Raises:
        RunError: the file exists but is damaged.
    """
    path = run_dir / DATA_FILE
    if not path.exists():
        return None
    fix = "restore it from a backup, or train the run again"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: not valid JSON ({str(exc).splitlines()[0]}); {fix}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RunError(f"{path}: not a nasx data record (format {FORMAT}); {fix}")
    digests = doc.get("sha256")
    keys = [*(k for k in ARRAY_NAMES if k not in OPTIONAL_ARRAYS), "all"]
    present = [*keys, *(k for k in OPTIONAL_ARRAYS if isinstance(digests, dict) and k in digests)]
    if not isinstance(doc.get("dataset"), str) or not isinstance(digests, dict) or any(
            not isinstance(digests.get(k), str) or len(digests[k]) != 64 for k in present):
        raise RunError(f"{path}: expected 'dataset' and a SHA-256 per array in 'sha256' "
                       f"({', '.join(keys)}); {fix}")
    return doc


def check_data_unchanged(run_dir: Path, dataset: str, fingerprint: dict[str, str]) -> None:
    """Refuse ``dataset`` when its arrays differ from those ``run_dir`` was trained on.

    Raises:
        DataError: naming the data set and which arrays changed.
        RunError: a damaged ``data.json``.
    """
    record = read_data_record(run_dir)
    if record is None:
        return
    changed = fingerprint_changes(record["sha256"], fingerprint)
    if changed:
        raise DataError(
            f"data set '{dataset}' changed since '{run_dir}' was trained on it "
            f"({', '.join(changed)} differ); restore the data the run was trained on, or train "
            "a new run on this data")
