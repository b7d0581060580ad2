"""The names of the files in a run folder, defined once.

::

    runs/.<name>.nasx-lock   the lock of the command working on the run (gone when it ends)
    runs/<name>/
      .nasx-run              marker: --overwrite deletes only folders that hold it
      config.yaml            resolved config (an npz data path stored absolute)
      data.json              the data set's fingerprint (SHA-256 of its arrays) at training
      space.yaml, archs.json, history.json, checkpoints/last.pt, supernet.safetensors, tb/
      search/pareto.json     the latest search (a copy of the newest numbered folder's)
      search/history.csv
      search/NNNN/           every search's pareto.json and history.csv, never replaced
      predictors/            accuracy-data.jsonl (+ .settings.json), accuracy/, latency/
      exports/<id>/          arch.json, metrics.json, model files
"""

from __future__ import annotations

from pathlib import Path

CONFIG_FILE = "config.yaml"
RUN_MARKER = ".nasx-run"
LOCK_FILE = ".nasx-lock"
DATA_FILE = "data.json"
SPACE_FILE = "space.yaml"
ARCHS_FILE = "archs.json"
HISTORY_FILE = "history.json"
CHECKPOINT = Path("checkpoints") / "last.pt"
SUPERNET_FILE = "supernet.safetensors"
TB_DIR = "tb"
SEARCH_DIR = "search"
PARETO_FILE = "pareto.json"
SEARCH_HISTORY_FILE = "history.csv"
