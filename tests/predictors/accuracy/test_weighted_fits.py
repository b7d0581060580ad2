"""Sample weights in the accuracy predictor's fits: a weight of k is k copies of the sample
(ridge, trees), the MLP loss weighs samples, and the checks on the weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.ensemble import ExtraTreesRegressor

from nasx.predictors.accuracy.mlp_ensemble import MLPEnsemble, MLPSettings
from nasx.predictors.accuracy.predictor import fit_accuracy_predictor
from nasx.predictors.accuracy.ridge import RidgeRegression
from nasx.predictors.accuracy.tree_ensemble import TreeEnsemble, TreeSettings
from nasx.search_spaces import GenomeCodec, load_space, random_arch

FAST = MLPSettings(members=4, hidden=32, steps=300, lr=1e-2)


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))  # (n, 5)
    y = x @ [0.3, -1.0, 0.0, 2.0, 0.5] + 0.3 * rng.normal(size=n)  # (n,)
    w = rng.integers(1, 5, size=n).astype(np.float64)  # (n,) whole-number weights
    return x, y, w


def test_weighted_ridge_equals_ridge_on_repeated_samples() -> None:
    x, y, w = _data(60, 0)
    rep = np.repeat(np.arange(60), w.astype(int))
    for lam in (0.0, 3.0):
        weighted = RidgeRegression.fit(x, y, lam, sample_weight=w)
        # the weights are scaled to mean 1, so the repeated data's penalty scales with them
        repeated = RidgeRegression.fit(x[rep], y[rep], lam * len(rep) / len(y))
        np.testing.assert_allclose(weighted.weights, repeated.weights, rtol=1e-9, atol=1e-12)
        assert weighted.bias == pytest.approx(repeated.bias, rel=1e-9)
    plain = RidgeRegression.fit(x, y, 3.0)
    assert not np.allclose(plain.weights, RidgeRegression.fit(x, y, 3.0, sample_weight=w).weights)
    ones = RidgeRegression.fit(x, y, 3.0, sample_weight=np.full(60, 7.0))
    np.testing.assert_allclose(ones.weights, plain.weights, rtol=1e-10)


def test_weighted_trees_equal_scikit_learn_with_sample_weight() -> None:
    x, y, w = _data(120, 1)
    settings = TreeSettings(trees=12, min_samples_leaf=3, max_features=0.6, summary_share=0.5)
    ours = TreeEnsemble.fit(x, y, settings, seed=5, genes=3, weights=w)
    genes = ExtraTreesRegressor(n_estimators=6, min_samples_leaf=3, max_features=0.6,
                                random_state=5, n_jobs=1).fit(x[:, :3], y, sample_weight=w)
    full = ExtraTreesRegressor(n_estimators=6, min_samples_leaf=3, max_features=0.6,
                               random_state=6, n_jobs=1).fit(x, y, sample_weight=w)
    probe = np.random.default_rng(2).normal(size=(500, 5))
    want = np.concatenate([np.stack([t.predict(probe[:, :3]) for t in genes.estimators_], 1),
                           np.stack([t.predict(probe) for t in full.estimators_], 1)], axis=1)
    np.testing.assert_allclose(ours.predict_trees(probe), want, rtol=0, atol=1e-12)
    unweighted = TreeEnsemble.fit(x, y, settings, seed=5, genes=3)
    assert not np.allclose(unweighted.predict(probe)[0], ours.predict(probe)[0])


def test_a_heavy_sample_pulls_the_mlp_towards_it() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(100, 2))
    y = x[:, 0].copy()
    y[0] += 1.0  # one sample far off the others' trend
    w = np.ones(100)
    w[0] = 50.0
    plain = MLPEnsemble.fit(x, y, FAST, seed=0).predict(x[:1])[0][0]
    heavy = MLPEnsemble.fit(x, y, FAST, seed=0, sample_weight=w).predict(x[:1])[0][0]
    assert abs(heavy - y[0]) < abs(plain - y[0]) - 0.1  # 0.51 against 0.65
    same = MLPEnsemble.fit(x, y, FAST, seed=0, sample_weight=np.full(100, 3.0))
    np.testing.assert_allclose(same.predict(x)[0], MLPEnsemble.fit(x, y, FAST, seed=0)
                               .predict(x)[0], atol=1e-5)


def test_fit_accuracy_predictor_weights_the_chosen_model_and_checks_them() -> None:
    space = load_space("tiny")
    codec, rng = GenomeCodec(space), np.random.default_rng(0)
    genomes = np.stack([codec.encode(random_arch(space, rng)) for _ in range(80)])
    acc = 0.6 + 0.2 * rng.uniform(size=80)
    w = np.ones(80)
    w[:10] = 10.0
    plain = fit_accuracy_predictor(space, genomes, acc, seed=0, kinds=("trees",))
    weighted = fit_accuracy_predictor(space, genomes, acc, seed=0, kinds=("trees",), weights=w)
    x = weighted.features.transform(genomes)
    direct = TreeEnsemble.fit(x, acc, TreeSettings(), 0, genes=weighted.features.gene_columns,
                              weights=w)
    np.testing.assert_array_equal(weighted.predict(genomes)[0],
                                  np.clip(direct.predict(x)[0], 0.0, 1.0))
    near = np.abs(weighted.predict(genomes[:10])[0] - acc[:10]).mean()
    assert near < np.abs(plain.predict(genomes[:10])[0] - acc[:10]).mean()
    for bad in (np.ones(79), np.r_[np.ones(79), 0.0], np.r_[np.ones(79), np.nan]):
        with pytest.raises(ValueError) as err:
            fit_accuracy_predictor(space, genomes, acc, kinds=("ridge",), weights=bad)
        assert str(err.value) == "weights must be 80 positive finite numbers, one per genome"
