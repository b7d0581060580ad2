"""The names of the files in a run folder, defined once: every module that reads or writes a
run file takes its name from here.

::

    runs/.<name>.nasx-lock   the lock of the command working on the run (gone when it ends)
    runs/<name>/
      .nasx-run              marker: --overwrite deletes only folders that hold it
      config.yaml            resolved config (an npz data path stored absolute)
      data.json              the data set's fingerprint (SHA-256 of its arrays) at training
      space.yaml, archs.json, history.json, supernet.safetensors
      checkpoints/last.pt    resumable state; prev.pt beside it: the checkpoint it replaced
      tb/                    TensorBoard, one folder per run:
        train/               the training step scalars (losses, lr, eps, gradient norm)
        subnets/<name>/      largest, smallest, random-<k>, random-median: the same tags
                             (val/accuracy (%), val/loss), so their curves overlay
        predictors/          the accuracy predictor's held-out scatter and tau/Spearman/RMSE
        search/              fronts, the summary text; search/round<r>/: hypervolume curves
        search/hparams/      the HParams experiment, <device>/<index>-<id>/ a session each
      search/pareto.json     the latest search (a copy of the newest numbered folder's)
      search/history.csv
      search/NNNN/           every search's pareto.json and history.csv, never replaced
      predictors/            accuracy-data.jsonl (+ accuracy-data.settings.json),
                             accuracy/predictor.json (+ weights), latency predictors, MCU fits,
                             latency-<device>-<runtime>-graphs/<id>.onnx: the graphs a profile
                             timed (kept so a resumed profile does not export them again)
      refit/                 refitted subnets' weights
      exports/<id>/          arch.json, metrics.json, model.safetensors, model.pt2, model.onnx,
                             model_step.onnx, model.h
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
PREVIOUS_CHECKPOINT_NAME = "prev.pt"
SUPERNET_FILE = "supernet.safetensors"
TB_DIR = "tb"
TB_SEARCH_DIR = Path(TB_DIR) / "search"
TB_HPARAMS_DIR = TB_SEARCH_DIR / "hparams"
TB_TRAIN_DIR = Path(TB_DIR) / "train"
TB_SUBNETS_DIR = Path(TB_DIR) / "subnets"
TB_PREDICTORS_DIR = Path(TB_DIR) / "predictors"
TB_ROUND_PREFIX = "round"  # tb/search/round<r>
SEARCH_DIR = "search"
PARETO_FILE = "pareto.json"
SEARCH_HISTORY_FILE = "history.csv"
LATEST_PARETO = Path(SEARCH_DIR) / PARETO_FILE
PREDICTORS_DIR = "predictors"
ACCURACY_DATA_FILE = "accuracy-data.jsonl"
ACCURACY_SETTINGS_FILE = "accuracy-data.settings.json"
ACCURACY_DATA = Path(PREDICTORS_DIR) / ACCURACY_DATA_FILE
ACCURACY_DIR = "accuracy"
ACCURACY_PREDICTOR_FILE = "predictor.json"
LATENCY_GRAPHS_DIR = "latency-{device}-{runtime}-graphs"  # .format(device=..., runtime=...)
LATENCY_GRAPHS_SETTINGS_FILE = "settings.json"
REFIT_DIR = "refit"
EXPORTS_DIR = "exports"
# in exports/<id>/
EXPORT_ARCH_FILE = "arch.json"
EXPORT_WEIGHTS_FILE = "model.safetensors"
EXPORT_METRICS_FILE = "metrics.json"
EXPORT_PT2_FILE = "model.pt2"
EXPORT_ONNX_FILE = "model.onnx"
EXPORT_ONNX_STEP_FILE = "model_step.onnx"
EXPORT_C_FILE = "model.h"
