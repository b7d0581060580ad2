"""Ridge regression in closed form (numpy), on standardised inputs with an unpenalised intercept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RidgeRegression:
    """A fitted linear model ``y = x @ weights + bias``.

    Attributes:
        weights: ``(F,)`` coefficients on the raw (unstandardised) inputs.
        bias: the intercept.
        lam: the L2 penalty it was fitted with (on standardised inputs).
    """

    weights: np.ndarray
    bias: float
    lam: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, lam: float) -> RidgeRegression:
        """Minimise ``|y - Xs w - b|^2 + lam |w|^2`` with ``Xs`` the column-standardised inputs.

        Columns with zero variance get no weight. Solved as ``(Xs'Xs + lam I) w = Xs'(y - mean
        y)`` (least squares with a tiny ``lam``, so collinear columns still give a solution).

        Args:
            x: inputs ``(n, F)``.
            y: targets ``(n,)``.
            lam: penalty >= 0.
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        mean = x.mean(axis=0)  # (F,)
        std = x.std(axis=0)  # (F,)
        used = std > 1e-12
        xs = (x[:, used] - mean[used]) / std[used]  # (n, F')
        y_mean = float(y.mean())
        gram = xs.T @ xs + lam * np.eye(xs.shape[1])  # (F', F')
        w_std, *_ = np.linalg.lstsq(gram, xs.T @ (y - y_mean), rcond=None)  # (F',)
        weights = np.zeros(x.shape[1])
        weights[used] = w_std / std[used]
        bias = y_mean - float(mean @ weights)
        return cls(weights, bias, float(lam))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions ``(n,)`` float64 for inputs ``(n, F)``."""
        return np.asarray(x, dtype=np.float64) @ self.weights + self.bias
