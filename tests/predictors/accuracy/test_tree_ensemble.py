"""The extra-trees ensemble: the flat-array walk equals scikit-learn, seeds, damaged arrays."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesRegressor

from nasx.predictors.accuracy.tree_ensemble import TreeEnsemble, TreeSettings


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(n, 6)) / 3.0  # ordinal genes in [0, 1]
    y = 0.5 + 0.2 * ((x[:, 0] > 0.5) ^ (x[:, 1] > 0.5)) + 0.05 * x[:, 2] * x[:, 3]
    return x, y + 0.01 * rng.normal(size=n)


def test_walk_equals_scikit_learn() -> None:
    x, y = _data(150, 0)
    settings = TreeSettings(trees=30, min_samples_leaf=2, max_features=0.5)
    ours = TreeEnsemble.fit(x, y, settings, seed=3)
    ref = ExtraTreesRegressor(n_estimators=30, min_samples_leaf=2, max_features=0.5,
                              random_state=3, n_jobs=1).fit(x, y)
    x_new = np.random.default_rng(1).uniform(-0.2, 1.2, size=(3000, 6))  # off-grid too
    per_tree = ours.predict_trees(x_new)
    want = np.stack([t.predict(x_new) for t in ref.estimators_], axis=1)  # (3000, 30)
    np.testing.assert_allclose(per_tree, want, rtol=0, atol=1e-12)
    mean, std = ours.predict(x_new)
    np.testing.assert_allclose(mean, ref.predict(x_new), rtol=0, atol=1e-12)
    np.testing.assert_allclose(std, want.std(axis=1), rtol=0, atol=1e-12)
    assert ours.depth == max(t.get_depth() for t in ref.estimators_)


def test_seeded_and_rebuilt_from_its_arrays() -> None:
    x, y = _data(80, 1)
    a = TreeEnsemble.fit(x, y, TreeSettings(trees=10), seed=0)
    b = TreeEnsemble.fit(x, y, TreeSettings(trees=10), seed=0)
    c = TreeEnsemble.fit(x, y, TreeSettings(trees=10), seed=1)
    for k, v in a.arrays().items():
        np.testing.assert_array_equal(v, b.arrays()[k])
    assert not np.array_equal(a.predict_trees(x), c.predict_trees(x))
    again = TreeEnsemble(a.arrays())
    np.testing.assert_array_equal(again.predict_trees(x), a.predict_trees(x))
    # A single leaf (all targets equal) predicts that value everywhere with no spread.
    flat = TreeEnsemble.fit(x, np.full(len(x), 0.25), TreeSettings(trees=4), seed=0)
    assert flat.depth == 0
    mean, std = flat.predict(x)
    assert (mean == 0.25).all() and not std.any()


def test_damaged_arrays_are_refused() -> None:
    x, y = _data(40, 2)
    arrays = TreeEnsemble.fit(x, y, TreeSettings(trees=3), seed=0).arrays()
    short = {**arrays, "value": arrays["value"][:, :-1]}
    with pytest.raises(ValueError, match="must share one"):
        TreeEnsemble(short)
    bad = {k: v.copy() for k, v in arrays.items()}
    bad["left"][0, 0] = 10_000
    with pytest.raises(ValueError, match="points outside its tree"):
        TreeEnsemble(bad)
    loop = {k: v.copy() for k, v in arrays.items()}
    loop["left"][0, 0] = loop["right"][0, 0] = 1
    loop["feature"][0, 1] = 0
    loop["left"][0, 1] = loop["right"][0, 1] = 1  # node 1 points to itself
    with pytest.raises(ValueError, match="back up it"):
        TreeEnsemble(loop)
    with pytest.raises(ValueError, match="at least one"):
        TreeEnsemble({k: v[:0] for k, v in arrays.items()})
    nan = {k: v.copy() for k, v in arrays.items()}
    nan["value"][0, 0] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        TreeEnsemble(nan)


def test_a_deep_shared_chain_loads_fast() -> None:
    # Every node's two children are the next node: a path-counting depth search would take
    # 2^40 steps; the relaxation takes 40 passes.
    m = 41
    feature = np.zeros((1, m), dtype=np.int32)
    feature[0, -1] = -1
    nxt = np.minimum(np.arange(m) + 1, m - 1)[None, :].astype(np.int32)
    nxt[0, -1] = 0
    ens = TreeEnsemble({"feature": feature, "threshold": np.zeros((1, m)), "left": nxt,
                        "right": nxt, "value": np.arange(m, dtype=np.float64)[None, :]})
    assert ens.depth == m - 1
    assert ens.predict(np.zeros((2, 1)))[0].tolist() == [m - 1, m - 1]


def test_two_views_average_a_gene_only_and_a_full_scikit_learn_forest() -> None:
    x, y = _data(150, 4)
    x = np.hstack([x, x[:, :2].prod(axis=1, keepdims=True)])  # (150, 7): 6 genes + 1 summary
    settings = TreeSettings(trees=20, min_samples_leaf=2, max_features=0.5, summary_share=0.25)
    ours = TreeEnsemble.fit(x, y, settings, seed=5, genes=6)
    genes = ExtraTreesRegressor(n_estimators=15, min_samples_leaf=2, max_features=0.5,
                                random_state=5, n_jobs=1).fit(x[:, :6], y)
    full = ExtraTreesRegressor(n_estimators=5, min_samples_leaf=2, max_features=0.5,
                               random_state=6, n_jobs=1).fit(x, y)
    x_new = np.random.default_rng(2).uniform(-0.2, 1.2, size=(2000, 7))
    want = np.hstack([np.stack([t.predict(x_new[:, :6]) for t in genes.estimators_], axis=1),
                      np.stack([t.predict(x_new) for t in full.estimators_], axis=1)])
    np.testing.assert_allclose(ours.predict_trees(x_new), want, rtol=0, atol=1e-12)
    assert ours.trees == 20 and not (ours.feature[:15] == 6).any()  # gene trees skip column 6
    assert (ours.feature[15:] == 6).any()
    # All trees on the genes, or no gene count given: one forest.
    only = TreeEnsemble.fit(x, y, TreeSettings(trees=8, summary_share=0.0), seed=1, genes=6)
    assert only.trees == 8 and only.feature.max() < 6
    plain = TreeEnsemble.fit(x, y, TreeSettings(trees=8), seed=1)
    ref = ExtraTreesRegressor(n_estimators=8, min_samples_leaf=3, max_features=0.3,
                              random_state=1, n_jobs=1).fit(x, y)
    np.testing.assert_allclose(plain.predict(x_new)[0], ref.predict(x_new), atol=1e-12)
    with pytest.raises(ValueError, match=r"^summary_share must lie in \[0, 1\], got 1.5$"):
        TreeEnsemble.fit(x, y, TreeSettings(summary_share=1.5), seed=0, genes=6)
