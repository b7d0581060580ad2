"""A small real accuracy model for the search tests: ridge regression on one-hot genes.

It is fitted (closed form) to a target that grows with the subnet's log parameter count, so the
search has a real trade-off between predicted accuracy and cost; it is not a constant.
"""

from __future__ import annotations

import numpy as np

from nasx.predictors import CostModel
from nasx.search.repair import GenomeRepair
from nasx.search_spaces import GenomeCodec, SearchSpace


class OneHotRidge:
    """Ridge regression on the one-hot encoding of the active genes of a genome."""

    def __init__(self, repair: GenomeRepair, genomes: np.ndarray, target: np.ndarray,
                 penalty: float = 1.0) -> None:
        self.repair = repair
        x = self.features(genomes)
        self.bias = float(target.mean())
        a = x.T @ x + penalty * np.eye(x.shape[1])
        self.coef = np.linalg.solve(a, x.T @ (target - self.bias))

    def features(self, genomes: np.ndarray) -> np.ndarray:
        """``(n, sum of choices)`` one-hot columns, zero for inactive genes."""
        g = np.asarray(genomes, dtype=np.int64)
        active = self.repair.active(g)
        cols = [(g[:, n] == k) & active[:, n]
                for n, upper in enumerate(self.repair.codec.upper) for k in range(upper + 1)]
        return np.column_stack(cols).astype(np.float64)

    def predict(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted accuracy ``(n,)`` and a zero std."""
        mean = self.features(genomes) @ self.coef + self.bias
        return mean, np.zeros(len(mean))


def fitted_ridge(space: SearchSpace, channels: int = 12, classes: int = 9, length: int = 29,
                 n: int = 300, seed: int = 0) -> OneHotRidge:
    """A ridge fitted on ``n`` random genomes to ``0.6 + 0.35 * normalised log(params)``."""
    codec = GenomeCodec(space)
    repair = GenomeRepair(codec)
    rng = np.random.default_rng(seed)
    genomes = repair(np.floor(rng.random((n, codec.length)) * (codec.upper + 1)))
    params = CostModel(space, channels, classes, length=length).costs(genomes)["params"]
    logp = np.log(params.astype(np.float64))
    target = 0.6 + 0.35 * (logp - logp.min()) / np.ptp(logp)
    return OneHotRidge(repair, genomes, target)
