"""The run layer: the files of a run folder (:mod:`.layout`), creating folders and writing
files atomically (:mod:`.folders`), locks (:mod:`.locks`), the data fingerprint
(:mod:`.fingerprint`) and one validating reader per file nasx reads back (:mod:`.readers`).
"""

from __future__ import annotations

from nasx.runs.folders import (
    atomic_write_bytes,
    atomic_write_text,
    fsync_folder,
    prepare_run_dir,
    write_resolved_config,
)
from nasx.runs.layout import CONFIG_FILE, RUN_MARKER
from nasx.runs.locks import lock_path, run_lock

__all__ = ["CONFIG_FILE", "RUN_MARKER", "atomic_write_bytes",
           "atomic_write_text", "fsync_folder", "lock_path", "prepare_run_dir", "run_lock",
           "write_resolved_config"]
