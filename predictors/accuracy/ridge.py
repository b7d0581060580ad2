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
    def fit(cls, x: np.ndarray, y: np.ndarray, lam: float,
            sample_weight: np.ndarray | None = None) -> RidgeRegression:
        """Minimise ``sum_i s_i (y_i - xs_i w - b)^2 + lam |w|^2`` with ``xs`` the
        column-standardised inputs and ``s`` the sample weights scaled to mean 1.

        Columns with zero variance get no weight. Solved as ``(Xs'S Xs + lam I) w = Xs'S(y -
        mean y)`` with weighted means and standard deviations (least squares with a tiny
        ``lam``, so collinear columns still give a solution).

        Args:
            x: inputs ``(n, F)``.
            y: targets ``(n,)``.
            lam: penalty >= 0.
            sample_weight: positive weights ``(n,)`` (default all equal: ordinary ridge).
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if sample_weight is None:
            mean, std = x.mean(axis=0), x.std(axis=0)  # (F,) each
            y_mean = float(y.mean())
        else:
            s = np.asarray(sample_weight, dtype=np.float64)
            s = s / s.mean()  # (n,) mean 1, so that lam means the same as unweighted
            mean = np.average(x, axis=0, weights=s)  # (F,)
            std = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=s))  # (F,)
            y_mean = float(np.average(y, weights=s))
        used = std > 1e-12
        xs = (x[:, used] - mean[used]) / std[used]  # (n, F')
        sx = xs if sample_weight is None else s[:, None] * xs  # (n, F')
        gram = xs.T @ sx + lam * np.eye(xs.shape[1])  # (F', F')
        w_std, *_ = np.linalg.lstsq(gram, sx.T @ (y - y_mean), rcond=None)  # (F',)
        weights = np.zeros(x.shape[1])
        weights[used] = w_std / std[used]
        bias = y_mean - float(mean @ weights)
        return cls(weights, bias, float(lam))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions ``(n,)`` float64 for inputs ``(n, F)``."""
        return np.asarray(x, dtype=np.float64) @ self.weights + self.bias
