"""What the predictor files of ``R/predictors/`` must hold beyond their format keys: the parts
their loaders and ``nasx predictor show`` / ``nasx search`` read (see :mod:`nasx.runs.schema`)."""

from __future__ import annotations

from typing import Any

from nasx.errors import NasxError
from nasx.runs.schema import Nullable, problem

_SCORES = {"kendall_tau!": "num?", "spearman!": "num?", "rmse!": "num?"}
MEASUREMENT = Nullable({"subnets!": "int", "sequences!": "int", "reliability!": "num",
                        "noise_sd!": "num", "tau_expected!": "num"})
ACCURACY_INFO = {
    "n_train": "int", "seed": "int", "samples": "int", "holdout_size": "int", "weights": "str?",
    "kinds": ["str"], "train_ids": ["str"],
    "selection!": {"folds!": "int", "chosen!": "str", "candidates!": [{"model!": "str",
                                                                       **_SCORES}]},
    "holdout": {"n": "int?", "kendall_tau": "num?", "spearman": "num?", "rmse": "num?",
                "measurement": MEASUREMENT},
    "emphasis": {"weight": "num", "ids": ["str"]},
}
ACCURACY_MODELS = {"ridge": {"weights!": ["num"], "bias!": "num", "lambda!": "num"},
                   "mlp": {"weights_file!": "str", "y_mean!": "num", "y_std!": "num"},
                   "trees": {"weights_file!": "str"}}
LATENCY_INFO = Nullable({"rounds": "int", "seed": "int", "data_sha256": "str?",
                         "holdout": Nullable({"mape": "num?"})})


def check_document(doc: dict[str, Any], schema: Any, path: Any, fix: str) -> None:
    """Raise a one-line ``NasxError`` (``<path>: <key>: expected ...; <fix>``) unless ``doc``
    fits ``schema``."""
    found = problem(doc, schema)
    if found:
        raise NasxError(f"{path}: {found}; {fix}")
