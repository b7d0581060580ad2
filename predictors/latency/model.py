"""The measured-latency predictor: a per-unit lookup table fitted to whole-subnet measurements.

A subnet's latency is predicted as ``intercept + sum over its units of t(unit, length)``, where
``t`` is linear and non-negative in the unit's terms (:mod:`~nasx.predictors.latency.features`):
a fixed cost per unit type and per fake-quantized weight/activation, plus costs per MAC, element,
quantized weight, LSTM step, scan and attention score. The coefficients are fitted by
non-negative least squares on the *relative* error over measured subnets (each row divided by
its latency), so small and large subnets weigh alike. ``t`` is evaluated once per distinct
``(unit, length)`` and cached: predicting a genome is a few dictionary look-ups per unit.

Files (JSON, no pickle): ``<folder>/latency-<device>-<runtime>.json``, one per runtime the
device was measured in (``onnxruntime``, ``torch``, ``pt2``); the folder is a run's
``predictors/`` or the user cache (:func:`cache_folder`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from nasx.errors import NasxError
from nasx.jsonfiles import load_json
from nasx.predictors.cost.model import CostModel
from nasx.predictors.latency.data import STATISTICS, ProfileSettings, space_fingerprint
from nasx.predictors.latency.features import (
    FEATURE_NAMES,
    Unit,
    unit_out_length,
    unit_vector,
)
from nasx.runs import atomic_write_text
from nasx.runs.layout import PREDICTORS_DIR
from nasx.runs.predictor_schemas import LATENCY_INFO, check_document
from nasx.search_spaces import SearchSpace

FORMAT_KEY = "nasx_latency_predictor"
FORMAT_VERSION = 1
MODEL_NAME = "unit-lut-nnls"


def predictor_file(folder: Path, device: str, runtime: str) -> Path:
    """``folder/latency-<device>-<runtime>.json``."""
    return folder / f"latency-{device}-{runtime}.json"


def data_file(folder: Path, device: str, runtime: str) -> Path:
    """``folder/latency-<device>-<runtime>-data.jsonl`` (the measurements)."""
    return folder / f"latency-{device}-{runtime}-data.jsonl"


def cache_root() -> Path:
    """``$NASX_CACHE_DIR``, else ``$XDG_CACHE_HOME/nasx``, else ``~/.cache/nasx``."""
    if os.environ.get("NASX_CACHE_DIR"):
        return Path(os.environ["NASX_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "nasx"
    return Path.home() / ".cache" / "nasx"


def cache_folder(space: SearchSpace, channels: int, classes: int, length: int) -> Path:
    """Where profiles made without a run go: ``<cache>/latency/<space>-<fingerprint>/
    c<channels>-k<classes>-l<length>/``."""
    return (cache_root() / "latency" / f"{space.name}-{space_fingerprint(space)}"
            / f"c{channels}-k{classes}-l{length}")


def fit_coefficients(features: np.ndarray, latency_s: np.ndarray) -> np.ndarray:
    """Non-negative ``w`` minimising ``sum(((features @ w) / latency_s - 1) ** 2)``.

    Args:
        features: ``(n, F)`` non-negative subnet vectors.
        latency_s: ``(n,)`` measured seconds, all > 0.

    Returns:
        ``(F,)`` float64 seconds per unit of each feature (0 for features never used).
    """
    from scipy.optimize import nnls  # imported here: it takes a second to import

    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(latency_s, dtype=np.float64)
    if x.ndim != 2 or y.shape != (x.shape[0],) or not np.all(y > 0):
        raise ValueError("need features (n, F) and n positive latencies")
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0  # unused feature: its column is 0 and its weight stays 0
    w, _ = nnls(x / scale / y[:, None], np.ones(len(y)), maxiter=50 * x.shape[1])
    return w / scale


def holdout_metrics(predicted_s: np.ndarray, measured_s: np.ndarray) -> dict[str, float]:
    """``mape`` (%), ``within_10`` / ``within_5`` (share within +-10 / 5 %), ``max_ape`` (%),
    ``n``, of ``predicted_s`` against ``measured_s``."""
    ape = np.abs(np.asarray(predicted_s) / np.asarray(measured_s) - 1.0) * 100.0
    return {"n": int(ape.size), "mape": float(ape.mean()),
            "within_10": float(np.mean(ape <= 10.0)), "within_5": float(np.mean(ape <= 5.0)),
            "max_ape": float(ape.max())}


class LatencyPredictor:
    """Predicted latency (seconds) of subnets of ``space`` on the measured device.

    Attributes:
        device: the device profile name it was measured on (``host-cpu``).
        channels, classes, length, batch: the input it was measured with (``(batch, channels,
            length)``, every sequence full length) and the class count.
        statistic: ``min`` or ``median`` of each subnet's pooled samples.
        settings: every measurement setting (:class:`ProfileSettings`).
        coef: ``(F,)`` seconds per unit of each of :data:`FEATURE_NAMES`.
        info: fit details (``n_train``, ``holdout`` metrics, ...), saved with the predictor.
    """

    def __init__(self, space: SearchSpace, settings: ProfileSettings, statistic: str,
                 coef: np.ndarray, info: dict[str, Any] | None = None) -> None:
        if statistic not in STATISTICS:
            raise ValueError(f"unknown statistic {statistic!r} (allowed: {', '.join(STATISTICS)})")
        coef = np.asarray(coef, dtype=np.float64)
        if coef.shape != (len(FEATURE_NAMES),):
            raise ValueError(f"need {len(FEATURE_NAMES)} coefficients, got {coef.shape}")
        self.space, self.settings, self.statistic, self.coef = space, settings, statistic, coef
        self.info: dict[str, Any] = dict(info or {})
        self._cost = CostModel(space, settings.channels, settings.classes, length=settings.length)
        self._table: dict[tuple[Unit, int], float] = {}

    @property
    def device(self) -> str:
        """Device profile name."""
        return self.settings.device

    @property
    def channels(self) -> int:
        """Input channels."""
        return self.settings.channels

    @property
    def classes(self) -> int:
        """Number of classes."""
        return self.settings.classes

    @property
    def length(self) -> int:
        """Input sequence length."""
        return self.settings.length

    @property
    def runtime(self) -> str:
        """The runtime the latency is for (``onnxruntime``, ``torch``, ``pt2``)."""
        return self.settings.runtime

    @property
    def batch(self) -> int:
        """Sequences per forward call."""
        return self.settings.batch

    @classmethod
    def fit(cls, space: SearchSpace, settings: ProfileSettings, statistic: str,
            genomes: np.ndarray, latency_s: np.ndarray,
            info: dict[str, Any] | None = None) -> LatencyPredictor:
        """Fit on measured subnets: ``genomes (n, G)`` int and their ``latency_s (n,)``."""
        empty = cls(space, settings, statistic, np.zeros(len(FEATURE_NAMES)))
        coef = fit_coefficients(empty.features(genomes), latency_s)
        return cls(space, settings, statistic, coef,
                   {"model": MODEL_NAME, "n_train": len(latency_s), **(info or {})})

    def features(self, genomes: np.ndarray) -> np.ndarray:
        """``(n, F)`` float64 subnet vectors of ``genomes (n, G)``."""
        rows = np.asarray(genomes, dtype=np.int64).tolist()
        out = np.zeros((len(rows), len(FEATURE_NAMES)))
        out[:, 0] = 1.0
        for r, g in enumerate(rows):
            length = self.length
            for u in self._cost.genome_units(g):
                out[r] += unit_vector(u, length)
                length = unit_out_length(u, length)
        return out

    def unit_latency_s(self, unit: Unit, length: int) -> float:
        """Seconds of one unit with input length ``length`` (the lookup table entry)."""
        key = (unit, length)
        hit = self._table.get(key)
        if hit is None:
            hit = self._table[key] = float(unit_vector(unit, length) @ self.coef)
        return hit

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        """Predicted seconds ``(n,)`` float64 of ``genomes (n, G)`` int (genes not range-checked;
        see :meth:`GenomeCodec.decode <nasx.search_spaces.GenomeCodec.decode>`)."""
        rows = np.asarray(genomes, dtype=np.int64).tolist()
        out = np.empty(len(rows))
        base, table, units_of = float(self.coef[0]), self._table, self._cost.genome_units
        for r, g in enumerate(rows):
            total, length = base, self.length
            for u in units_of(g):
                t = table.get((u, length))
                total += t if t is not None else self.unit_latency_s(u, length)
                if u[0] == "convbn":
                    length = -(-length // u[4])
            out[r] = total
        return out

    # --- files ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON document :meth:`save` writes."""
        return {FORMAT_KEY: FORMAT_VERSION, "settings": self.settings.to_dict(),
                "statistic": self.statistic, "features": list(FEATURE_NAMES),
                "coef_s": [float(c) for c in self.coef], "info": self.info}

    def save(self, path: Path) -> None:
        """Write the predictor to ``path`` (JSON, atomically; floats round-trip exactly)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path, space: SearchSpace) -> LatencyPredictor:
        """Read a predictor :meth:`save` wrote, for ``space``.

        Raises:
            NasxError: missing or malformed file, or profiled for another search space.
        """
        raw = load_json(path, NasxError,
                        missing=f"{path}: no latency predictor here; run `nasx profile` first",
                        unreadable=f"{path}: cannot read the latency predictor ({{kind}}); "
                        "profile again")
        if not isinstance(raw, dict) or raw.get(FORMAT_KEY) != FORMAT_VERSION:
            raise NasxError(f"{path}: not a nasx latency predictor (version {FORMAT_VERSION})")
        settings = ProfileSettings.from_dict(raw.get("settings"), str(path))
        if settings.space_fingerprint != space_fingerprint(space):
            raise NasxError(f"{path} was profiled for search space {settings.space!r} "
                            f"({settings.space_fingerprint}), not {space.name!r} "
                            f"({space_fingerprint(space)}); run `nasx profile` for this space")
        names = raw.get("features")
        # a file from before an op was added lacks that op's features: they are 0 for every
        # arch of the space it was profiled for, so its coefficients carry over by name
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)
                and len(set(names)) == len(names) and set(names) <= set(FEATURE_NAMES)):
            raise NasxError(f"{path}: made with other features than this nasx version uses; "
                            "fit it again with `nasx profile` (the measurements are reused)")
        if raw.get("statistic") not in STATISTICS:
            raise NasxError(f"{path}: statistic must be one of {', '.join(STATISTICS)}; "
                            "profile again")
        coef = raw.get("coef_s")
        if not (isinstance(coef, list) and len(coef) == len(names)
                and all(isinstance(c, float | int) and not isinstance(c, bool)
                        and math.isfinite(c) for c in coef)):
            raise NasxError(f"{path}: coef_s must be a list of {len(names)} finite "
                            "numbers; profile again")
        check_document(raw, {"info": LATENCY_INFO}, path, "profile again")
        full = np.zeros(len(FEATURE_NAMES))
        full[[FEATURE_NAMES.index(n) for n in names]] = coef
        return cls(space, settings, raw["statistic"], full, raw.get("info"))


def find_latency_predictor(run_dir: Path, device: str, space: SearchSpace, runtime: str, *,
                           channels: int | None = None, classes: int | None = None,
                           length: int | None = None) -> LatencyPredictor | None:
    """The latency predictor for ``device`` in ``runtime`` and ``space``, or None when there is
    none.

    Looks in ``run_dir/predictors/latency-<device>-<runtime>.json`` first; when ``channels``,
    ``classes`` and ``length`` are all given, then also in the user cache (:func:`cache_folder`).

    Raises:
        NasxError: a file exists but is malformed or for another space.
    """
    candidates = [predictor_file(run_dir / PREDICTORS_DIR, device, runtime)]
    if channels is not None and classes is not None and length is not None:
        candidates.append(predictor_file(cache_folder(space, channels, classes, length), device,
                                         runtime))
    for path in candidates:
        if path.is_file():
            return LatencyPredictor.load(path, space)
    return None
