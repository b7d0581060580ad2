"""Ridge regression, the MLP ensemble, model choice by cross-validation, save/load and speed of
the accuracy predictor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

from nasx.errors import NasxError, RunError
from nasx.predictors.accuracy.features import ArchFeatures
from nasx.predictors.accuracy.mlp_ensemble import MLPEnsemble, MLPSettings
from nasx.predictors.accuracy.predictor import AccuracyPredictor, fit_accuracy_predictor
from nasx.predictors.accuracy.rank_metrics import rank_metrics
from nasx.predictors.accuracy.ridge import RidgeRegression
from nasx.search_spaces import GenomeCodec, load_space, random_arch, space_from_dict, space_to_dict

FAST = MLPSettings(members=4, hidden=32, steps=300, lr=1e-2)


def _genomes(space_name: str, n: int, seed: int) -> np.ndarray:
    space = load_space(space_name)
    codec, rng = GenomeCodec(space), np.random.default_rng(seed)
    return np.stack([codec.encode(random_arch(space, rng)) for _ in range(n)])


def test_ridge_recovers_an_exact_linear_target() -> None:
    feats = ArchFeatures(load_space("hybrid-mcu"))
    x = feats.transform(_genomes("hybrid-mcu", 400, 0))  # (400, 78), collinear op columns
    w_true = np.random.default_rng(1).normal(size=feats.size)
    y = x @ w_true + 0.7
    model = RidgeRegression.fit(x, y, lam=1e-9)
    x_new = feats.transform(_genomes("hybrid-mcu", 100, 2))
    np.testing.assert_allclose(model.predict(x_new), x_new @ w_true + 0.7, atol=1e-6)
    # On full-rank inputs the coefficients themselves come back.
    z = np.random.default_rng(3).normal(size=(50, 4))
    exact = RidgeRegression.fit(z, z @ [1.0, -2.0, 0.5, 3.0] - 4.0, lam=0.0)
    np.testing.assert_allclose(exact.weights, [1.0, -2.0, 0.5, 3.0], atol=1e-10)
    assert exact.bias == pytest.approx(-4.0, abs=1e-10)
    # A penalty shrinks the coefficients towards zero.
    shrunk = RidgeRegression.fit(z, z @ [1.0, -2.0, 0.5, 3.0] - 4.0, lam=50.0)
    assert np.abs(shrunk.weights).sum() < 0.8 * np.abs(exact.weights).sum()


def test_mlp_ensemble_fits_a_nonlinear_target_and_is_unsure_off_distribution() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(200, 3))

    def target(v: np.ndarray) -> np.ndarray:
        return np.sin(2 * np.pi * v[:, 0]) + v[:, 1] ** 2

    model = MLPEnsemble.fit(x, target(x), FAST, seed=0)
    x_in = rng.uniform(0, 1, size=(500, 3))
    mean, std_in = model.predict(x_in)
    rmse = float(np.sqrt(np.mean((mean - target(x_in)) ** 2)))
    assert rmse < 0.15 * target(x_in).std()  # a linear fit leaves ~0.75 of the std
    linear = RidgeRegression.fit(x, target(x), lam=0.0)
    assert np.sqrt(np.mean((linear.predict(x_in) - target(x_in)) ** 2)) > 3 * rmse
    _, std_out = model.predict(rng.uniform(2, 3, size=(500, 3)))
    assert np.median(std_out) > 5 * np.median(std_in)
    # Members differ (seeds), and the same seed gives the same ensemble.
    members = model.predict_members(x_in)
    assert members.shape == (4, 500) and np.ptp(members, axis=0).mean() > 1e-3
    again = MLPEnsemble.fit(x, target(x), FAST, seed=0)
    np.testing.assert_array_equal(again.predict_members(x_in), members)


def test_cross_validation_picks_the_family_that_fits_the_target() -> None:
    space = load_space("tiny")
    genomes = _genomes("tiny", 120, 0)
    x = ArchFeatures(space).transform(genomes)
    w = np.random.default_rng(4).normal(size=x.shape[1]) * 0.01
    w[[n.startswith("summary.") for n in ArchFeatures(space).names]] = 0  # genes only
    linear = fit_accuracy_predictor(space, genomes, 0.6 + x @ w, seed=0, mlp=FAST)
    assert linear.kind == "ridge"
    chosen = linear.info["selection"]["chosen"]
    assert chosen.startswith("ridge(lambda=")
    scores = {c["model"]: c for c in linear.info["selection"]["candidates"]}
    assert scores[chosen]["kendall_tau"] > 0.995
    assert set(scores) == {"mlp", "trees", *(f"ridge(lambda={r:g}n)"
                                             for r in (1e-4, 1e-3, 1e-2, 1e-1, 1.0))}
    # XOR of two features: no linear model ranks it, an MLP does, and so do the trees.
    a, b = x[:, 0] > 0.5, x[:, 1] > 0.5  # stem.width, stem.kernel of tiny
    xor = 0.5 + 0.2 * (a ^ b) + 0.01 * x[:, 2]
    nonlinear = fit_accuracy_predictor(space, genomes, xor, seed=0, mlp=FAST,
                                       kinds=("mlp", "ridge"))
    assert nonlinear.kind == "mlp" and nonlinear.info["selection"]["chosen"] == "mlp"
    assert nonlinear.info["n_train"] == 120
    # A product of two genes (as the total down-sampling is of the strides): the trees rank it
    # better than any ridge penalty (trees need some marginal signal: XOR has none).
    product = 0.5 + 0.3 * x[:, 0] * x[:, 1]
    both = fit_accuracy_predictor(space, genomes, product, seed=0, kinds=("ridge", "trees"))
    cv = {c["model"]: c["kendall_tau"] for c in both.info["selection"]["candidates"]}
    assert both.kind == "trees" and cv["trees"] > max(v for k, v in cv.items() if k != "trees")
    assert both.info["tree_settings"] == {"trees": 200, "min_samples_leaf": 3,
                                          "max_features": 0.3, "summary_share": 0.5}


@pytest.mark.parametrize("kind", ["mlp", "ridge", "trees"])
def test_save_and_load_give_identical_predictions(tmp_path: Path, kind: str) -> None:
    space = load_space("tiny")
    genomes = _genomes("tiny", 60, 0)
    acc = 0.5 + 0.3 * ArchFeatures(space).transform(genomes)[:, :6].mean(axis=1)
    pred = fit_accuracy_predictor(space, genomes, acc, seed=1, kinds=(kind,), mlp=FAST)
    pred.save(tmp_path / "p")
    files = sorted(p.name for p in (tmp_path / "p").iterdir())
    weights = [f for f in files if f != "predictor.json"]
    assert len(files) == len(weights) + 1
    assert len(weights) == (0 if kind == "ridge" else 1)
    assert all(f.startswith(f"{kind}-") and f.endswith(".safetensors") for f in weights)
    back = AccuracyPredictor.load(tmp_path / "p", load_space("tiny"))
    test = _genomes("tiny", 300, 5)
    mean, std = pred.predict(test)
    mean2, std2 = back.predict(test)
    np.testing.assert_array_equal(mean, mean2)
    np.testing.assert_array_equal(std, std2)
    assert (back.kind, back.info) == (kind, json.loads(json.dumps(pred.info)))
    if kind == "ridge":
        assert not std.any()
    else:  # the members or trees disagree somewhere
        assert (std > 0).mean() > 0.9
    assert ((mean >= 0) & (mean <= 1)).all()
    # Refitting into the same folder replaces the weights file and leaves no stale one.
    fit_accuracy_predictor(space, genomes, acc, seed=2, kinds=(kind,), mlp=FAST).save(
        tmp_path / "p")
    assert len(list((tmp_path / "p").iterdir())) == len(files)


def test_load_errors_are_one_line(tmp_path: Path) -> None:
    space = load_space("tiny")
    with pytest.raises(RunError, match=r"^no accuracy predictor in '.*' \(no predictor.json\); "
                       r"fit one with nasx predictor fit --run RUN$"):
        AccuracyPredictor.load(tmp_path, space)
    genomes = _genomes("tiny", 20, 0)
    fit_accuracy_predictor(space, genomes, np.linspace(0, 1, 20), kinds=("ridge",)).save(
        tmp_path)
    other = space_to_dict(space)
    other["stem"]["width"] = [8, 12, 16]
    with pytest.raises(NasxError, match=r"was fitted for space 'tiny' with another genome layout "
                       r"than space 'tiny'; fit a predictor for this space$"):
        AccuracyPredictor.load(tmp_path, space_from_dict(other))
    doc = json.loads((tmp_path / "predictor.json").read_text())
    for change, message in [
            ({"feature_names": doc["feature_names"][:-1]},
             r"was fitted on other genome features than this nasx computes; fit the "
             r"predictor again$"),
            ({"kind": "gbm"}, r"holds a predictor of kind 'gbm', which this nasx cannot read "
             r"\(it reads mlp, ridge, trees\); fit the predictor again$")]:
        (tmp_path / "predictor.json").write_text(json.dumps({**doc, **change}))
        with pytest.raises(NasxError, match=message):
            AccuracyPredictor.load(tmp_path, space)
    # a trees file whose splits read features the predictor does not have
    fit_accuracy_predictor(space, genomes, np.linspace(0, 1, 20), kinds=("trees",)).save(
        tmp_path)
    doc = json.loads((tmp_path / "predictor.json").read_text())
    weights = tmp_path / doc["trees"]["weights_file"]
    arrays = load_file(weights)
    arrays["feature"] = np.where(arrays["feature"] >= 0, arrays["feature"] + 1000, -1).astype(
        np.int32)
    save_file(arrays, weights)
    with pytest.raises(NasxError, match=r"is damaged or incomplete \(ValueError: a split reads "
                       r"a feature the predictor does not have\); fit the predictor again$"):
        AccuracyPredictor.load(tmp_path, space)
    (tmp_path / "predictor.json").write_text("{\"format\": \"something else\"}")
    with pytest.raises(NasxError, match="is not a nasx accuracy predictor"):
        AccuracyPredictor.load(tmp_path, space)


def test_rank_metrics_golden_values() -> None:
    m = rank_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0]))
    # 6 pairs, 5 concordant, 1 discordant: tau = 4/6; Spearman 1 - 6*2/(4*15) = 0.8.
    assert m["kendall_tau"] == pytest.approx(4 / 6)
    assert m["spearman"] == pytest.approx(0.8)
    assert m["rmse"] == pytest.approx(np.sqrt(0.5))
    assert np.isnan(rank_metrics(np.ones(3), np.arange(3.0))["kendall_tau"])


def test_a_batch_of_20000_genomes_predicts_as_its_chunks_do() -> None:
    """Each family predicts a genome the same alone or in a batch of 20,000 (the search's batch).
    Its speed (>= 10,000 predictions/s) is measured by ``tools/bench_predictors.py``, not here."""
    torch.set_num_threads(1)
    space = load_space("hybrid-mcu")
    train = _genomes("hybrid-mcu", 60, 0)
    acc = np.linspace(0.3, 0.9, 60)
    genomes = np.tile(_genomes("hybrid-mcu", 2000, 1), (10, 1))  # (20000, 65)
    for kind in ("mlp", "ridge", "trees"):
        pred = fit_accuracy_predictor(space, train, acc, kinds=(kind,),
                                      mlp=MLPSettings(steps=20))
        mean, std = pred.predict(genomes)
        assert mean.shape == std.shape == (20000,)
        chunks = [pred.predict(genomes[i:i + 100]) for i in (0, 2000, 19900)]
        for i, (m, s) in zip((0, 2000, 19900), chunks, strict=True):
            np.testing.assert_allclose(m, mean[i:i + 100], rtol=1e-5, atol=1e-6, err_msg=kind)
            np.testing.assert_allclose(s, std[i:i + 100], rtol=1e-5, atol=1e-6, err_msg=kind)
        np.testing.assert_allclose(mean[:2000], mean[2000:4000], rtol=1e-5, atol=1e-6)
