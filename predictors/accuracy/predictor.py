"""The accuracy predictor: genome -> predicted validation accuracy (and an uncertainty).

Three model families on the depth-masked features of :class:`~nasx.predictors.accuracy.features.
ArchFeatures`: ridge regression (closed form, :mod:`.ridge`), an MLP ensemble
(:mod:`.mlp_ensemble`) and extremely randomised trees (:mod:`.tree_ensemble`).
:func:`fit_accuracy_predictor` scores every candidate (ridge at several penalties, the MLP
ensemble, the trees) by K-fold cross-validation *inside* the training samples (out-of-fold
Kendall tau, ties broken by RMSE), keeps the best, and refits it on all of them.

Saved as a folder: ``predictor.json`` (format, the genome fingerprint of the space, feature
names, model kind, ridge coefficients or ensemble settings, the selection report and any
metrics) and, for the MLP ensemble and the trees, ``mlp-<hash>.safetensors`` /
``trees-<hash>.safetensors`` with their arrays, named by content and written first, so
replacing ``predictor.json`` atomically switches predictors. No pickle anywhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from nasx.errors import NasxError, RunError
from nasx.predictors.accuracy.features import ArchFeatures
from nasx.predictors.accuracy.mlp_ensemble import PARAM_NAMES, MLPEnsemble, MLPSettings
from nasx.predictors.accuracy.rank_metrics import rank_metrics
from nasx.predictors.accuracy.ridge import RidgeRegression
from nasx.predictors.accuracy.tree_ensemble import ARRAY_NAMES, TreeEnsemble, TreeSettings
from nasx.runs import atomic_write_bytes, atomic_write_text
from nasx.runs.layout import ACCURACY_PREDICTOR_FILE
from nasx.runs.predictor_schemas import ACCURACY_INFO, ACCURACY_MODELS, check_document
from nasx.search_spaces import GenomeCodec, SearchSpace

FORMAT = "nasx-accuracy-predictor-1"
KINDS = ("mlp", "ridge", "trees")
# Ridge penalties tried, in units of the training-sample count (inputs are standardised).
RIDGE_PENALTIES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
DEFAULT_FOLDS = 5


Model = MLPEnsemble | RidgeRegression | TreeEnsemble


def genome_fingerprint(space: SearchSpace) -> str:
    """12 hex digits identifying the genome layout of ``space`` (gene names and choices): a
    predictor fits every space with the same fingerprint."""
    genes = [[g.name, [str(c) for c in g.choices]] for g in GenomeCodec(space).genes]
    return hashlib.sha1(json.dumps(genes).encode()).hexdigest()[:12]


class AccuracyPredictor:
    """A fitted predictor for one search space.

    Attributes:
        features: the genome featuriser.
        kind: ``mlp`` (ensemble), ``ridge`` or ``trees``.
        model: the fitted :class:`MLPEnsemble`, :class:`RidgeRegression` or
            :class:`TreeEnsemble`.
        info: JSON-able facts saved with it (selection report, sample counts, metrics).
    """

    def __init__(self, space: SearchSpace, kind: str, model: Model,
                 info: dict[str, Any] | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.features = ArchFeatures(space)
        self.kind = kind
        self.model = model
        self.info: dict[str, Any] = dict(info or {})

    @property
    def space(self) -> SearchSpace:
        """The search space whose genomes it reads."""
        return self.features.space

    def predict(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted validation accuracy (a fraction, clipped to [0, 1]) and its standard
        deviation over the ensemble's members or trees (zeros for ridge), ``(n,)`` float64
        each, for integer genomes ``(n, G)``."""
        x = self.features.transform(genomes)  # (n, F)
        if isinstance(self.model, MLPEnsemble | TreeEnsemble):
            mean, std = self.model.predict(x)
        else:
            mean, std = self.model.predict(x), np.zeros(len(x))
        return np.clip(mean, 0.0, 1.0), std

    def save(self, folder: Path) -> None:
        """Write the predictor into ``folder`` (created if needed); see the module docstring."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        doc: dict[str, Any] = {
            "format": FORMAT,
            "space": self.space.name,
            "genome_fingerprint": genome_fingerprint(self.space),
            "feature_names": self.features.names,
            "kind": self.kind,
            "info": self.info,
        }
        if isinstance(self.model, RidgeRegression):
            doc["ridge"] = {"weights": self.model.weights.tolist(), "bias": self.model.bias,
                            "lambda": self.model.lam}
        elif isinstance(self.model, TreeEnsemble):
            blob = save_tensors({k: torch.from_numpy(np.ascontiguousarray(v))
                                 for k, v in self.model.arrays().items()},
                                metadata={"format": FORMAT})
            name = f"trees-{hashlib.sha1(blob).hexdigest()[:12]}.safetensors"
            atomic_write_bytes(folder / name, blob)
            doc["trees"] = {"weights_file": name, "trees": self.model.trees}
        else:
            m = self.model
            blob = save_tensors({**m.params, "x_mean": torch.from_numpy(m.x_mean),
                                 "x_std": torch.from_numpy(m.x_std)},
                                metadata={"format": FORMAT})
            name = f"mlp-{hashlib.sha1(blob).hexdigest()[:12]}.safetensors"
            atomic_write_bytes(folder / name, blob)
            doc["mlp"] = {"weights_file": name, "members": m.members, "hidden": m.hidden,
                          "y_mean": m.y_mean, "y_std": m.y_std}
        old = _weights_file(folder)
        atomic_write_text(folder / ACCURACY_PREDICTOR_FILE, json.dumps(doc, indent=1) + "\n")
        if old is not None and old != doc.get(self.kind, {}).get("weights_file"):
            (folder / old).unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: Path, space: SearchSpace) -> AccuracyPredictor:
        """Load a predictor saved by :meth:`save` for ``space``.

        Raises:
            NasxError: no predictor there, a damaged or foreign file, or a predictor fitted
                for another genome layout.
        """
        folder = Path(folder)
        path = folder / ACCURACY_PREDICTOR_FILE
        if not path.is_file():
            raise RunError(f"no accuracy predictor in '{folder}' (no {ACCURACY_PREDICTOR_FILE}); "
                           "fit one with nasx predictor fit --run RUN")
        try:
            doc = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise NasxError(f"'{path}' is not valid JSON ({err}); fit the predictor again") \
                from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise NasxError(f"'{path}' is not a nasx accuracy predictor (format {FORMAT}); "
                            "fit the predictor again")
        want = genome_fingerprint(space)
        if doc.get("genome_fingerprint") != want:
            raise NasxError(f"'{path}' was fitted for space {doc.get('space')!r} with another "
                            f"genome layout than space {space.name!r}; fit a predictor for "
                            "this space")
        if doc.get("feature_names") != ArchFeatures(space).names:
            raise NasxError(f"'{path}' was fitted on other genome features than this nasx "
                            "computes; fit the predictor again")
        kind, info = doc.get("kind"), doc.get("info", {})
        if kind not in KINDS:
            raise NasxError(f"'{path}' holds a predictor of kind {kind!r}, which this nasx "
                            f"cannot read (it reads {', '.join(KINDS)}); fit the predictor "
                            "again")
        check_document(doc, {"info!": ACCURACY_INFO, f"{kind}!": ACCURACY_MODELS[kind]}, path,
                       "fit the predictor again")
        weights = doc[kind].get("weights")
        if kind == "ridge" and len(weights) != len(doc["feature_names"]):
            raise NasxError(f"{path}: ridge.weights: expected {len(doc['feature_names'])} "
                            f"numbers, got {len(weights)}; fit the predictor again")
        if kind != "ridge" and Path(doc[kind]["weights_file"]).name != doc[kind]["weights_file"]:
            raise NasxError(f"{path}: {kind}.weights_file: expected a file name in {folder}; "
                            "fit the predictor again")
        try:
            if kind == "ridge":
                r = doc["ridge"]
                model: Model = RidgeRegression(
                    np.asarray(r["weights"], dtype=np.float64), float(r["bias"]),
                    float(r["lambda"]))
            elif kind == "mlp":
                m = doc["mlp"]
                tensors = load_tensors((folder / m["weights_file"]).read_bytes())
                model = MLPEnsemble({k: tensors[k] for k in PARAM_NAMES},
                                    tensors["x_mean"].numpy(), tensors["x_std"].numpy(),
                                    float(m["y_mean"]), float(m["y_std"]))
            elif kind == "trees":
                tensors = load_tensors((folder / doc["trees"]["weights_file"]).read_bytes())
                model = TreeEnsemble({k: tensors[k].numpy() for k in ARRAY_NAMES})
                if model.feature.max() >= len(doc["feature_names"]):
                    raise ValueError("a split reads a feature the predictor does not have")
        except (KeyError, TypeError, ValueError, OSError, SafetensorError) as err:
            raise NasxError(f"'{path}' is damaged or incomplete ({type(err).__name__}: {err}); "
                            "fit the predictor again") from None
        return cls(space, kind, model, info)


def _weights_file(folder: Path) -> str | None:
    """The weights file named by the ``predictor.json`` now in ``folder``, if any."""
    try:
        doc = json.loads((folder / ACCURACY_PREDICTOR_FILE).read_text())
        return str(doc[doc["kind"]]["weights_file"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """``k`` disjoint index arrays covering ``range(n)`` (a seeded permutation, cut evenly)."""
    perm = np.random.default_rng([seed, 0x666F6C64]).permutation(n)
    return [np.sort(part) for part in np.array_split(perm, min(k, n))]


def _out_of_fold(x: np.ndarray, y: np.ndarray, w: np.ndarray | None,
                 folds: Sequence[np.ndarray], fit: Any) -> np.ndarray:
    """Predictions ``(n,)`` of models fitted (with weights ``w``, if any) without each fold,
    on that fold."""
    pred = np.empty(len(y))
    for part in folds:
        keep = np.ones(len(y), dtype=bool)
        keep[part] = False
        pred[part] = fit(x[keep], y[keep], None if w is None else w[keep]).predict(x[part])
    return pred


def _score(pred: np.ndarray, y: np.ndarray) -> dict[str, float | None]:
    """Rank metrics with ``None`` for an undefined (NaN) correlation, ready for JSON."""
    return {k: (None if math.isnan(v) else v) for k, v in rank_metrics(pred, y).items()}


def _key(score: dict[str, float | None]) -> tuple[float, float]:
    """Sort key: higher tau first, then lower RMSE (a NaN tau ranks last)."""
    tau = score["kendall_tau"]
    return (-(tau if tau is not None else -math.inf), score["rmse"] or 0.0)


def fit_accuracy_predictor(
    space: SearchSpace,
    genomes: np.ndarray,
    accuracies: np.ndarray,
    *,
    seed: int = 0,
    folds: int = DEFAULT_FOLDS,
    kinds: Sequence[str] = KINDS,
    mlp: MLPSettings | None = None,
    trees: TreeSettings | None = None,
    weights: np.ndarray | None = None,
) -> AccuracyPredictor:
    """Choose between ridge (each penalty of :data:`RIDGE_PENALTIES`), the MLP ensemble and
    the trees by ``folds``-fold cross-validation on the training samples, then refit the
    winner on all.

    Args:
        space: the search space of the genomes.
        genomes: integer genomes ``(n, G)``, ``n >= 4``.
        accuracies: their validation accuracies ``(n,)`` (fractions).
        seed: seeds the folds and the ensembles.
        folds: cross-validation folds.
        kinds: the families to consider (``mlp``, ``ridge``, ``trees``).
        mlp: MLP ensemble settings (default :class:`MLPSettings`).
        trees: tree ensemble settings (default :class:`TreeSettings`).
        weights: positive per-genome weights ``(n,)`` for every fit (default all equal); the
            out-of-fold scores stay unweighted.

    Returns:
        The predictor; ``info["selection"]`` holds every candidate's out-of-fold Kendall tau,
        Spearman and RMSE and the chosen one, ``info["n_train"]`` the sample count.
    """
    mlp = mlp or MLPSettings()
    trees = trees or TreeSettings()
    feats = ArchFeatures(space)
    x = feats.transform(genomes)  # (n, F)
    y = np.asarray(accuracies, dtype=np.float64)
    if len(y) != len(x) or len(y) < 4:
        raise ValueError(f"need >= 4 genomes with one accuracy each, got {len(x)} and {len(y)}")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise ValueError(f"kinds must name at least one of {KINDS}, got {list(kinds)}")
    w = None if weights is None else np.asarray(weights, dtype=np.float64)  # (n,) or None
    if w is not None and (w.shape != y.shape or not (np.isfinite(w).all() and (w > 0).all())):
        raise ValueError(f"weights must be {len(y)} positive finite numbers, one per genome")
    parts = _folds(len(y), folds, seed)
    builders: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], Any]] = {}
    if "ridge" in kinds:
        n = len(y)  # the penalty scales with the whole training set, also inside the folds
        for rel in RIDGE_PENALTIES:
            builders[f"ridge(lambda={rel:g}n)"] = \
                lambda a, b, c, lam=rel * n: RidgeRegression.fit(a, b, lam, sample_weight=c)
    if "mlp" in kinds:
        builders["mlp"] = lambda a, b, c: MLPEnsemble.fit(a, b, mlp, seed, sample_weight=c)
    if "trees" in kinds:
        genes = feats.gene_columns
        builders["trees"] = lambda a, b, c: TreeEnsemble.fit(a, b, trees, seed, genes=genes,
                                                             weights=c)
    scores = {name: _score(_out_of_fold(x, y, w, parts,
                                        lambda a, b, c, f=fit: _MeanOnly(f(a, b, c))), y)
              for name, fit in builders.items()}
    chosen = min(scores, key=lambda name: _key(scores[name]))
    model = builders[chosen](x, y, w)  # refit on every training sample
    kind = chosen.split("(")[0]
    selection = {"folds": len(parts), "chosen": chosen,
                 "candidates": [{"model": name, **sc} for name, sc in scores.items()]}
    info = {"n_train": len(y), "seed": seed, "selection": selection,
            "mlp_settings": dataclasses.asdict(mlp) if kind == "mlp" else None,
            "tree_settings": dataclasses.asdict(trees) if kind == "trees" else None}
    return AccuracyPredictor(space, kind, model, info)


class _MeanOnly:
    """Adapts a model to the ``predict(x) -> (n,)`` protocol of cross-validation (the
    ensembles return a mean and a spread)."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = self.model.predict(x)
        return out[0] if isinstance(out, tuple) else out
