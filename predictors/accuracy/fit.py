"""Fit a run's accuracy predictor: build the dataset, fit, score on held-out subnets, save.

``R/predictors/accuracy-data.jsonl`` (see :mod:`.data`) gets ``holdout`` held-out
subnets (seeded stream 1) and ``samples`` training subnets (stream 0, disjoint from the
held-out ones); records that other tools appended (the search's validated candidates) join the
training set unless they are held out. The predictor (:func:`~.accuracy.fit_accuracy_predictor`:
ridge, MLP ensemble or trees, chosen by cross-validation on the training subnets) is scored on
the held-out subnets (Kendall tau, Spearman, RMSE, and the measurement's own precision from
:mod:`.reliability`), saved to ``R/predictors/accuracy/`` and its
predicted-vs-true scatter goes to TensorBoard (``R/tb/``, tag ``predictor/accuracy``).

The search's refits pass the ids it has validated as ``emphasis``: those records weigh
:data:`EMPHASIS_WEIGHT` times as much as the others in every fit (cross-validation included),
so the predictor follows what was measured near the front rather than averaging it with the
random subnets around it (``BENCHMARKS.md``, issue 5's front gap).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasx.predictors.accuracy.data import (
    HOLDOUT_STREAM,
    TRAIN_STREAM,
    SubnetRecord,
    build_records,
    measurement_reliability,
    records_arrays,
    sample_archs,
    split_sizes_ok,
)
from nasx.predictors.accuracy.predictor import KINDS, AccuracyPredictor, fit_accuracy_predictor
from nasx.predictors.accuracy.rank_metrics import rank_metrics
from nasx.runs.layout import (
    ACCURACY_DIR,
    ACCURACY_PREDICTOR_FILE,
    PREDICTORS_DIR,
    TB_PREDICTORS_DIR,
)
from nasx.runs.trained import TrainedRun
from nasx.search_spaces import Arch, SearchSpace, arch_id
from nasx.train.distributed import Ranks

# How much more a subnet the search validated weighs in the search's refits than a random one:
# the refit predictor should reproduce what was measured where the search is looking.
EMPHASIS_WEIGHT = 10.0
TB_TAG = "predictor/accuracy"
TB_DESCRIPTIONS = {
    TB_TAG: "held-out subnets: predicted against true validation accuracy (fractions, 0 to 1), "
            "with the MLP ensemble's std as error bars; step = subnets the predictor was "
            "fitted on",
    f"{TB_TAG}/kendall_tau": "Kendall tau between predicted and true validation accuracy of "
                             "the held-out subnets (no unit, -1 to 1); compare it with the tau "
                             "the validation noise allows (nasx predictor show)",
    f"{TB_TAG}/spearman": "Spearman rank correlation of predicted and true held-out validation "
                          "accuracy (no unit, -1 to 1)",
    f"{TB_TAG}/rmse": "root mean square error of the predicted held-out validation accuracy, as "
                      "a fraction (0.01 = 1 percentage point)",
}


def predictor_dir(run_dir: Path) -> Path:
    """``run_dir/predictors/accuracy``."""
    return Path(run_dir) / PREDICTORS_DIR / ACCURACY_DIR


def split_archs(space: SearchSpace, samples: int, holdout: int, seed: int
                ) -> tuple[list[Arch], list[Arch]]:
    """The seeded training and held-out subnets of a build (disjoint ids, prefix-stable)."""
    held = sample_archs(space, holdout, seed, HOLDOUT_STREAM)
    train = sample_archs(space, samples, seed, TRAIN_STREAM,
                         exclude=frozenset(arch_id(a) for a in held))
    return train, held


def build_run_dataset(run: TrainedRun, *, samples: int, holdout: int, seed: int,
                      progress: bool = True, ranks: Ranks | None = None
                      ) -> tuple[list[SubnetRecord], list[SubnetRecord]]:
    """Evaluate what is missing of the build and return ``(train, held-out)`` records.

    ``train`` is the ``samples`` sampled subnets first, then every other record of the file
    that is not held out. Under torchrun call it on every rank (the evaluations are shared).

    Raises:
        NasxError: fewer than 10 training or held-out subnets.
    """
    split_sizes_ok(samples, holdout)
    train, held = split_archs(run.space, samples, holdout, seed)
    records = build_records(run, train + held, progress=progress, ranks=ranks)
    held_ids = [arch_id(a) for a in held]
    train_ids = [arch_id(a) for a in train]
    chosen = set(train_ids) | set(held_ids)
    extra = [key for key in records if key not in chosen]
    return ([records[k] for k in train_ids + extra], [records[k] for k in held_ids])


def score_predictor(predictor: AccuracyPredictor, held: list[SubnetRecord]) -> dict[str, Any]:
    """Kendall tau, Spearman, RMSE of ``predictor`` on ``held`` (``None`` for an undefined
    correlation, e.g. when every held-out subnet has the same accuracy)."""
    genomes, acc = records_arrays(held)
    mean, _ = predictor.predict(genomes)
    return {k: (None if np.isnan(v) else v) for k, v in rank_metrics(mean, acc).items()}


def fit_run_predictor(run: TrainedRun, *, samples: int, holdout: int, seed: int,
                      progress: bool = True, ranks: Ranks | None = None,
                      kinds: Sequence[str] = KINDS, emphasis: Collection[str] = (),
                      emphasis_weight: float = EMPHASIS_WEIGHT
                      ) -> tuple[AccuracyPredictor, dict[str, Any]]:
    """Build or extend the run's dataset, fit, score on the held-out subnets, save, log.

    Args:
        run: the trained run.
        samples: sampled training subnets (>= 10).
        holdout: held-out subnets (>= 10), never used for fitting or model choice.
        seed: seeds the sampling, the cross-validation folds and the ensemble.
        progress: progress bar while evaluating (only on a terminal).
        ranks: passed to :func:`build_run_dataset` (default: the torchrun ranks when a process
            group is up); under torchrun, build on every rank first, then call this on rank 0
            with ``Ranks()``.
        kinds: the model families cross-validation chooses among (default all); saved in
            ``info["kinds"]`` so that a refit (the search's) keeps the choice.
        emphasis: ids of training records that weigh ``emphasis_weight`` times as much as the
            others in the fit (the search passes the subnets it has validated); ids that are
            held out or not in the dataset are ignored.
        emphasis_weight: their weight (> 0; the other records weigh 1).

    Returns:
        The saved predictor and a report: ``kendall_tau``, ``spearman``, ``rmse`` on the
        held-out subnets, ``n_train``, ``n_holdout``, ``model`` (the chosen candidate),
        ``kind``, ``selection`` (every candidate's cross-validated scores), ``measurement``
        (how precisely the validation split measures the held-out subnets' accuracy: see
        :func:`~nasx.predictors.accuracy.data.measurement_reliability`; ``None`` when their
        records carry no per-sequence correctness) and ``path``.
    """
    train, held = build_run_dataset(run, samples=samples, holdout=holdout, seed=seed,
                                    progress=progress, ranks=ranks)
    genomes, acc = records_arrays(train)
    stressed = set(emphasis)
    heavy = np.array([r.id in stressed for r in train], dtype=bool)  # (n,)
    weights = np.where(heavy, emphasis_weight, 1.0) if heavy.any() else None
    predictor = fit_accuracy_predictor(run.space, genomes, acc, seed=seed, kinds=kinds,
                                       weights=weights)
    metrics = score_predictor(predictor, held)
    precision = measurement_reliability(held, seed)
    measurement = None if precision is None else precision.as_json()
    selection = predictor.info["selection"]
    report: dict[str, Any] = {
        **metrics, "n_train": len(train), "n_holdout": len(held),
        "model": selection["chosen"], "kind": predictor.kind, "selection": selection,
        "measurement": measurement, "path": str(predictor_dir(run.run_dir)),
    }
    predictor.info.update({"holdout": {**metrics, "n": len(held), "measurement": measurement},
                           "train_ids": [r.id for r in train], "kinds": list(kinds),
                           "samples": samples,
                           "emphasis": {"weight": emphasis_weight,
                                        "ids": [r.id for r in train if r.id in stressed]},
                           "holdout_size": holdout, "weights": run.weights})
    predictor.save(predictor_dir(run.run_dir))
    _log_scatter(run.run_dir, predictor, held, metrics, len(train))
    return predictor, report


def load_run_predictor(run_dir: Path, space: SearchSpace) -> AccuracyPredictor | None:
    """The predictor saved in ``run_dir/predictors/accuracy/``, or ``None`` if there is none.

    Raises:
        NasxError: a predictor is there but damaged or fitted for another genome layout.
    """
    folder = predictor_dir(run_dir)
    if not (folder / ACCURACY_PREDICTOR_FILE).is_file():
        return None
    return AccuracyPredictor.load(folder, space)


def _log_scatter(run_dir: Path, predictor: AccuracyPredictor, held: list[SubnetRecord],
                 metrics: dict[str, Any], n_train: int) -> None:
    """Predicted-vs-true scatter of the held-out subnets (with the ensemble's std as error
    bars) and the held-out metrics, at global step ``n_train``, in run ``tb/predictors``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasx.tb import TagWriter

    genomes, acc = records_arrays(held)
    mean, std = predictor.predict(genomes)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.errorbar(acc, mean, yerr=std if predictor.kind == "mlp" else None, fmt="o", ms=3,
                alpha=0.7, elinewidth=0.8)
    low, high = float(min(acc.min(), mean.min())), float(max(acc.max(), mean.max()))
    ax.plot([low, high], [low, high], "k--", lw=0.8)
    tau = "n/a" if metrics["kendall_tau"] is None else f"{metrics['kendall_tau']:.3f}"
    chosen = predictor.info["selection"]["chosen"]
    ax.set_title(f"{len(held)} held-out subnets, {n_train} train: tau {tau}, {chosen}",
                 fontsize=8)
    ax.set_xlabel("true validation accuracy")
    ax.set_ylabel("predicted validation accuracy")
    fig.tight_layout()
    with TagWriter(Path(run_dir) / TB_PREDICTORS_DIR) as writer:
        writer.figure(TB_TAG, fig, n_train, TB_DESCRIPTIONS[TB_TAG])
        for key in ("kendall_tau", "spearman", "rmse"):
            if metrics[key] is not None:
                tag = f"{TB_TAG}/{key}"
                writer.scalar(tag, metrics[key], n_train, TB_DESCRIPTIONS[tag])
