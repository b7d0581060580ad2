"""What the accuracy dataset's records were measured with, kept next to them.

A record of ``R/predictors/accuracy-data.jsonl`` holds a subnet's validation accuracy after
BatchNorm recalibration, which depends on the supernet's weights, the validation split and the
calibration batches. If any of these changes after records were written (weights trained
further, ``train.calib_batches`` or the split edited in ``config.yaml``), new records would
silently mix with old ones that describe another supernet or another measurement.

``R/predictors/accuracy-data.settings.json`` keeps what the records were measured with: a
SHA-256 digest of the supernet's state (parameters and buffers), the dataset and the SHA-256 of
its arrays (:mod:`nasx.data.fingerprint`), its split and
normalisation, the seed, and the calibration (batch count, and batch size unless the whole
split is one batch). :func:`stamp_problem` writes it when it is missing (a dataset file from
before it existed is adopted as measured with the current settings) and otherwise compares
it with the run's, naming every setting that differs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from nasx.runs import atomic_write_text
from nasx.runs.layout import ACCURACY_SETTINGS_FILE
from nasx.runs.trained import TrainedRun

FORMAT = "nasx-accuracy-data-settings-1"
COMPARED = ("weights_sha256", "dataset", "data_sha256", "val_fraction", "normalize", "seed",
            "calib_batches", "calib_batch_size")


def weights_digest(net: torch.nn.Module) -> str:
    """SHA-256 (hex) of every entry of ``net.state_dict()``: name, dtype, shape and bytes."""
    digest = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous().reshape(-1)  # (numel,)
        digest.update(f"{name}|{t.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def evaluation_settings(run: TrainedRun) -> dict[str, Any]:
    """What a record of ``run``'s dataset is measured with (JSON-able)."""
    cfg = run.cfg
    calib = cfg.train.calib_batches
    return {"format": FORMAT, "weights_sha256": weights_digest(run.net),
            "weights_from": run.weights, "dataset": cfg.data.name,
            "data_sha256": run.splits.fingerprint.get("all"),
            "val_fraction": cfg.data.val_fraction, "normalize": cfg.data.normalize,
            "seed": cfg.seed, "calib_batches": calib,
            "calib_batch_size": cfg.data.batch_size if calib > 0 else None}


def settings_path(data_file: Path) -> Path:
    """The settings file next to ``data_file``."""
    return Path(data_file).with_name(ACCURACY_SETTINGS_FILE)


def stamp_problem(run: TrainedRun, data_file: Path) -> str | None:
    """``None`` when ``data_file``'s records were measured as ``run`` measures now (writing
    the settings file first when there is none), else a one-line message naming what differs
    and the fix."""
    path = settings_path(data_file)
    now = evaluation_settings(run)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(now, indent=1) + "\n")
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ValueError(f"expected a JSON object with format {FORMAT}")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return (f"{path}: not readable as evaluation settings ({err}); delete it to accept the "
                f"records in {Path(data_file).name} as measured with the run's current settings")
    differ = [k for k in COMPARED if saved.get(k) != now[k]]
    if not differ:
        return None
    changes = "; ".join(f"{k} {_short(saved.get(k))} -> {_short(now[k])}" for k in differ)
    return (f"{data_file} was measured with other settings than the run has now ({changes}); "
            f"move it and {path.name} away to evaluate the subnets again, or restore the "
            "earlier settings")


def _short(value: Any) -> str:
    """A setting for a message: digests cut to 12 hex digits."""
    return value[:12] if isinstance(value, str) and len(value) == 64 else repr(value)
