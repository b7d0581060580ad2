"""The run layer, used by train, predictors, search and export: the files of a run folder
(:mod:`.layout`), creating folders and writing files atomically (:mod:`.folders`), locks
(:mod:`.locks`), the data fingerprint (:mod:`.data_record`), one validating reader per file nasx
reads back (:mod:`.readers`), training checkpoints (:mod:`.checkpoint`), ``archs.json`` and
``history.json`` (:mod:`.writers`) and a training run loaded back (:mod:`.trained`:
``TrainedRun``, ``load_trained_run``; import it from there, it imports torch and the supernet).
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
