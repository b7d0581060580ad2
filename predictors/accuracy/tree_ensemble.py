"""Extremely randomised trees (Geurts, Ernst and Wehenkel, 2006) as flat arrays.

Fitted with scikit-learn's ``ExtraTreesRegressor``; each tree is then copied out into padded
``(trees, nodes)`` arrays (split feature, threshold, children, leaf value), saved with
safetensors (no pickle) and evaluated here by a vectorised walk of every tree at once, so a
loaded predictor needs neither scikit-learn nor its pickles.

Why trees: a subnet's accuracy depends on interactions a linear model cannot express, the
strongest being the total down-sampling (the product of the stem's and the stages' strides); on
the OSULeaf supernets the trees ranked held-out subnets with a Kendall tau 0.1-0.2 higher than
ridge regression (``BENCHMARKS.md``). The spread of the trees' predictions is the uncertainty.

Two views: when the inputs end in whole-arch summary columns (:mod:`.arch_summary`), a share
``summary_share`` of the trees is grown on every column and the rest on the gene columns alone;
the ensemble averages both. On OSULeaf the summary columns rank held-out subnets better, while
the gene-only trees keep the prediction smooth where the search pushes it (the front gap of
issue 5, ``BENCHMARKS.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ARRAY_NAMES = ("feature", "threshold", "left", "right", "value")
_CHUNK = 1024  # genomes walked at once: keeps the (chunk, trees) index arrays in cache


@dataclass(frozen=True)
class TreeSettings:
    """How the ensemble is grown.

    Attributes:
        trees: number of trees.
        min_samples_leaf: fewest training samples in a leaf (smooths the prediction).
        max_features: share of the features drawn as split candidates at each node.
        summary_share: share of the trees that also see the summary columns (the others see
            the gene columns only); used when :meth:`TreeEnsemble.fit` is told where the gene
            columns end.
    """

    trees: int = 200
    min_samples_leaf: int = 3
    max_features: float = 0.3
    summary_share: float = 0.5


class TreeEnsemble:
    """A fitted ensemble: per tree and node the split feature (``-1`` at a leaf), threshold,
    children and value, each ``(trees, nodes)``; a sample goes left when
    ``x[feature] <= threshold`` (compared in float32, as scikit-learn does)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.feature = np.asarray(arrays["feature"], dtype=np.int32)  # (T, M)
        self.threshold = np.asarray(arrays["threshold"], dtype=np.float64)  # (T, M)
        self.left = np.asarray(arrays["left"], dtype=np.int32)  # (T, M)
        self.right = np.asarray(arrays["right"], dtype=np.int32)  # (T, M)
        self.value = np.asarray(arrays["value"], dtype=np.float64)  # (T, M)
        shapes = {a.shape for a in (self.feature, self.threshold, self.left, self.right,
                                    self.value)}
        if len(shapes) != 1 or self.feature.ndim != 2 or min(self.feature.shape) < 1:
            raise ValueError(f"tree arrays must share one (trees, nodes) shape with at least one "
                             f"of each, got {shapes}")
        inner = self.feature >= 0
        nodes = self.feature.shape[1]
        here = np.arange(nodes)[None, :]  # (1, M)
        for child in (self.left, self.right):
            # scikit-learn stores a tree in depth-first order: children come after their parent
            if np.any(inner & ((child <= here) | (child >= nodes))):
                raise ValueError("a split node points outside its tree or back up it")
        if not np.isfinite(self.threshold[inner]).all() or not np.isfinite(self.value).all():
            raise ValueError("a tree holds a threshold or value that is not finite")
        self.depth = _depth(self.left, self.right, inner)
        self._flat: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def trees(self) -> int:
        """Number of trees ``T``."""
        return int(self.feature.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (as saved)."""
        return {"feature": self.feature, "threshold": self.threshold, "left": self.left,
                "right": self.right, "value": self.value}

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, settings: TreeSettings, seed: int,
            genes: int | None = None, weights: np.ndarray | None = None) -> TreeEnsemble:
        """Grow the ensemble on inputs ``(n, F)`` and targets ``(n,)`` (deterministic in
        ``seed``; one thread).

        With ``genes`` (``0 < genes < F``: the first ``genes`` columns are the genes, the rest
        summary columns), ``round(trees * (1 - summary_share))`` trees (seed ``seed``) see only
        the gene columns and the others (seed ``seed + 1``) every column. ``weights (n,)``
        (positive) weigh the samples in the splits and leaf values, as scikit-learn's
        ``sample_weight`` (a weight of k counts as k copies, except in ``min_samples_leaf``).
        """
        x = np.asarray(x, dtype=np.float64)
        if not 0.0 <= settings.summary_share <= 1.0:
            raise ValueError(f"summary_share must lie in [0, 1], got {settings.summary_share}")
        only_genes = 0 if genes is None or not 0 < genes < x.shape[1] else \
            round(settings.trees * (1.0 - settings.summary_share))
        if 0 < only_genes < settings.trees:
            a = cls._grow(x[:, :genes], y, settings, only_genes, seed, weights)
            b = cls._grow(x, y, settings, settings.trees - only_genes, seed + 1, weights)
            nodes = max(a["feature"].shape[1], b["feature"].shape[1])
            return cls({k: np.vstack([_pad(a[k], nodes, k), _pad(b[k], nodes, k)])
                        for k in ARRAY_NAMES})
        if only_genes == settings.trees:
            x = x[:, :genes]  # the split features index the first columns either way
        return cls(cls._grow(x, y, settings, settings.trees, seed, weights))

    @staticmethod
    def _grow(x: np.ndarray, y: np.ndarray, settings: TreeSettings, trees: int, seed: int,
              weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Fit ``trees`` extra trees on ``x (n, F)`` and copy them into padded arrays."""
        from sklearn.ensemble import ExtraTreesRegressor

        model = ExtraTreesRegressor(n_estimators=trees,
                                    min_samples_leaf=settings.min_samples_leaf,
                                    max_features=settings.max_features, random_state=seed,
                                    n_jobs=1)
        model.fit(x, np.asarray(y, dtype=np.float64), sample_weight=weights)
        trees = [est.tree_ for est in model.estimators_]
        nodes = max(t.node_count for t in trees)
        out = {"feature": np.full((len(trees), nodes), -1, dtype=np.int32),
               "threshold": np.zeros((len(trees), nodes)),
               "left": np.zeros((len(trees), nodes), dtype=np.int32),
               "right": np.zeros((len(trees), nodes), dtype=np.int32),
               "value": np.zeros((len(trees), nodes))}
        for k, t in enumerate(trees):
            n = t.node_count
            leaf = t.children_left[:n] < 0
            out["feature"][k, :n] = np.where(leaf, -1, t.feature[:n])
            out["threshold"][k, :n] = np.where(leaf, 0.0, t.threshold[:n])
            out["left"][k, :n] = np.where(leaf, 0, t.children_left[:n])
            out["right"][k, :n] = np.where(leaf, 0, t.children_right[:n])
            out["value"][k, :n] = t.value[:n, 0, 0]
        return out

    def predict_trees(self, x: np.ndarray) -> np.ndarray:
        """Each tree's prediction ``(n, T)`` for inputs ``(n, F)``."""
        x = np.asarray(x, dtype=np.float32).astype(np.float64)  # scikit-learn's precision
        n, f = x.shape
        out = np.empty((n, self.trees))
        feat, thr, left, right = self._walk
        roots = (np.arange(self.trees, dtype=np.int64) * self.feature.shape[1])[None, :]
        for lo in range(0, n, _CHUNK):
            part = x[lo:lo + _CHUNK].reshape(-1)  # (c * F,)
            c = len(part) // f
            base = (np.arange(c, dtype=np.int64) * f)[:, None]  # (c, 1) row offsets
            node = np.repeat(roots, c, axis=0)  # (c, T) flat node ids, all at the roots
            for _ in range(self.depth):
                go_left = part[base + feat[node]] <= thr[node]  # (c, T)
                node = np.where(go_left, left[node], right[node])
            out[lo:lo + c] = self.value.reshape(-1)[node]
        return out

    @property
    def _walk(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Flat node arrays for :meth:`predict_trees`, with every leaf (and padding node)
        turned into a self-loop (feature 0, threshold +inf, both children itself), so a walk
        of ``depth`` steps needs no test for having arrived."""
        if self._flat is None:
            t, m = self.feature.shape
            ids = np.arange(t * m, dtype=np.int64).reshape(t, m)
            offset = ids[:, :1]  # (T, 1) first node of each tree
            inner = self.feature >= 0
            feat = np.where(inner, self.feature, 0).astype(np.int64).reshape(-1)
            thr = np.where(inner, self.threshold, np.inf).reshape(-1)
            left = np.where(inner, self.left + offset, ids).reshape(-1)
            right = np.where(inner, self.right + offset, ids).reshape(-1)
            self._flat = (feat, thr, left, right)
        return self._flat

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation over the trees, ``(n,)`` each, for inputs ``(n, F)``."""
        per_tree = self.predict_trees(x)  # (n, T)
        return per_tree.mean(axis=1), per_tree.std(axis=1)


def _pad(a: np.ndarray, nodes: int, name: str) -> np.ndarray:
    """Array ``name`` ``(T, M)`` widened to ``(T, nodes)``: padded nodes are leaves (split
    feature ``-1``, everything else 0) that no split reaches."""
    out = np.full((a.shape[0], nodes), -1 if name == "feature" else 0, dtype=a.dtype)
    out[:, : a.shape[1]] = a
    return out


def _depth(left: np.ndarray, right: np.ndarray, inner: np.ndarray) -> int:
    """Edges on the longest root-to-leaf path over all trees (``0`` for single leaves).

    Children come after their parents (checked by the caller), so relaxing ``depth(node) = 1 +
    max(depth(children))`` settles in at most ``depth + 1`` vectorised passes.
    """
    tree = np.arange(left.shape[0])[:, None]  # (T, 1)
    depth = np.zeros(left.shape, dtype=np.int64)  # (T, M)
    while True:
        below = np.maximum(depth[tree, left], depth[tree, right])
        new = np.where(inner, 1 + below, 0)
        if np.array_equal(new, depth):
            return int(depth[:, 0].max())
        depth = new
