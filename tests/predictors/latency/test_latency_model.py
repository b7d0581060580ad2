"""LatencyPredictor: exact recovery of per-unit sums, bit-exact save/load, file checks, lookup."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasx.errors import NasxError
from nasx.predictors import CostModel
from nasx.predictors.latency.data import ProfileSettings, space_fingerprint
from nasx.predictors.latency.features import (
    FEATURE_NAMES,
    subnet_vector,
    unit_terms,
    unit_vector,
)
from nasx.predictors.latency.model import (
    LatencyPredictor,
    cache_folder,
    find_latency_predictor,
    fit_coefficients,
    holdout_metrics,
    predictor_file,
)
from nasx.search_spaces import GenomeCodec, load_space, random_arch

SPACE = load_space("hybrid-mcu")


def _settings(space=SPACE, length: int = 29) -> ProfileSettings:
    return ProfileSettings(device="host-cpu", space=space.name,
                           space_fingerprint=space_fingerprint(space), channels=12, classes=9,
                           length=length, batch=1, threads=1, warmup=2, repeats=5,
                           torch="2.13.0")


def _genomes(n: int, seed: int, space=SPACE) -> np.ndarray:
    codec, rng = GenomeCodec(space), np.random.default_rng(seed)
    return np.stack([codec.encode(random_arch(space, rng)) for _ in range(n)])


def _truth() -> np.ndarray:
    """Positive seconds per feature, different for every feature."""
    return np.linspace(1e-6, 9e-5, len(FEATURE_NAMES))[np.random.default_rng(0).permutation(
        len(FEATURE_NAMES))]


def test_genome_units_are_the_units_of_the_decoded_arch() -> None:
    cost, codec = CostModel(SPACE, 12, 9, length=29), GenomeCodec(SPACE)
    for g in _genomes(30, 11):
        assert cost.genome_units(g.tolist()) == cost.units(codec.decode(g))


def test_unit_terms_by_hand() -> None:
    # MBConv W=16, H=32, k=5 at L=10, 4-bit weights, float activations
    kind, terms = unit_terms(("conv", 16, 32, 5, 4, 32), 10)
    numel = 2 * 16 * 32 + 32 * 5
    assert kind == "conv"
    assert terms == (1.0, 1.0, 0.0, numel * 10 / 1e6, (2 * 16 + 2 * 32) * 10 / 1e3, 0.0,
                     numel / 1e3)
    # attention W=32, 2 heads of 16, FFN 64, int8 weights and activations, L=7
    _, terms = unit_terms(("attn", 32, 2, 16, 64, 8, 8), 7)
    assert terms[3] == ((4 * 32 * 32 + 2 * 32 * 64) * 7 + 2 * 2 * 49 * 16) / 1e6
    assert terms[-1] == 2 * 49 / 1e3
    # stride-2 conv-bn: output length ceil(29 / 2) = 15
    _, terms = unit_terms(("convbn", 12, 8, 3, 2, 32, 32), 29)
    assert terms[3] == 8 * 12 * 3 * 15 / 1e6 and terms[4] == (12 * 29 + 8 * 15) / 1e3
    v = unit_vector(("lstm", 16, 8, 32, 8), 5)
    assert v[FEATURE_NAMES.index("lstm.steps")] == 5.0 and v.sum() == sum(
        unit_terms(("lstm", 16, 8, 32, 8), 5)[1])


def test_fit_recovers_exact_sums_of_unit_latencies() -> None:
    """Latencies that are exactly intercept + sum of per-unit linear terms are predicted within
    1e-9 (relative) on subnets the fit never saw."""
    truth, cost = _truth(), CostModel(SPACE, 12, 9, length=29)
    train, test = _genomes(300, 1), _genomes(50, 2)

    def exact(genomes: np.ndarray) -> np.ndarray:
        return np.array([subnet_vector(cost.genome_units(g.tolist()), 29) @ truth
                         for g in genomes])

    p = LatencyPredictor.fit(SPACE, _settings(), "min", train, exact(train))
    np.testing.assert_allclose(p.predict(test), exact(test), rtol=1e-9, atol=0)
    np.testing.assert_allclose(p.predict(test), p.features(test) @ p.coef, rtol=1e-12)
    assert p.info["n_train"] == 300 and p.info["model"] == "unit-lut-nnls"


def test_fit_coefficients_are_non_negative_and_minimise_relative_error() -> None:
    x = np.array([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
    w = fit_coefficients(x, np.array([3.0, 2.0, 1.0]))  # decreasing: slope would be negative
    assert w[1] == 0.0 and w[0] > 0
    w2 = fit_coefficients(x, x @ np.array([0.5, 0.25]))
    np.testing.assert_allclose(w2, [0.5, 0.25], rtol=1e-12)


def test_save_load_round_trip_is_bit_exact(tmp_path: Path) -> None:
    g = _genomes(80, 4)
    y = np.exp(np.random.default_rng(5).normal(-7, 0.3, 80))  # noisy: coefficients not round
    p = LatencyPredictor.fit(SPACE, _settings(), "median", g, y, {"note": "x"})
    path = predictor_file(tmp_path / "predictors", "host-cpu", "torch")
    p.save(path)
    q = LatencyPredictor.load(path, SPACE)
    test = _genomes(40, 6)
    assert np.array_equal(p.predict(test), q.predict(test))
    assert np.array_equal(p.coef, q.coef) and q.statistic == "median"
    assert (q.device, q.channels, q.classes, q.length, q.batch) == ("host-cpu", 12, 9, 29, 1)
    assert q.info == p.info and q.info["note"] == "x"
    assert json.loads(path.read_text())["nasx_latency_predictor"] == 1


def test_a_file_from_before_an_op_was_added_loads_by_feature_name(tmp_path: Path) -> None:
    # SPACE has no gru: a file written before the gru op existed (no gru.* features) must load
    # and predict exactly as the current file does
    g = _genomes(60, 8)
    y = np.exp(np.random.default_rng(9).normal(-7, 0.3, 60))
    p = LatencyPredictor.fit(SPACE, _settings(), "median", g, y)
    path = tmp_path / "latency-host-cpu.json"
    p.save(path)
    raw = json.loads(path.read_text())
    keep = [i for i, n in enumerate(raw["features"]) if not n.startswith("gru.")]
    assert len(keep) < len(raw["features"])
    raw["features"] = [raw["features"][i] for i in keep]
    raw["coef_s"] = [raw["coef_s"][i] for i in keep]
    path.write_text(json.dumps(raw))
    q = LatencyPredictor.load(path, SPACE)
    assert np.array_equal(p.predict(g), q.predict(g))
    raw["features"][0] = "tcn.count"
    path.write_text(json.dumps(raw))
    with pytest.raises(NasxError, match="made with other features than this nasx version uses"):
        LatencyPredictor.load(path, SPACE)


def test_load_refuses_another_space_and_broken_files(tmp_path: Path) -> None:
    p = LatencyPredictor.fit(SPACE, _settings(), "min", _genomes(30, 7),
                             np.full(30, 1e-3))
    path = tmp_path / "latency-host-cpu-torch.json"
    p.save(path)
    tiny = load_space("tiny")
    with pytest.raises(NasxError) as err:
        LatencyPredictor.load(path, tiny)
    assert str(err.value) == (
        f"{path} was profiled for search space 'hybrid-mcu' ({space_fingerprint(SPACE)}), not "
        f"'tiny' ({space_fingerprint(tiny)}); run `nasx profile` for this space")
    with pytest.raises(NasxError, match="no latency predictor here; run `nasx profile` first"):
        LatencyPredictor.load(tmp_path / "missing.json", SPACE)
    raw = json.loads(path.read_text())
    raw["coef_s"][3] = "fast"
    path.write_text(json.dumps(raw))
    with pytest.raises(NasxError, match=f"coef_s must be a list of {len(FEATURE_NAMES)} finite "
                                        "numbers"):
        LatencyPredictor.load(path, SPACE)


def test_find_looks_in_the_run_then_the_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NASX_CACHE_DIR", str(tmp_path / "cache"))
    run = tmp_path / "run"
    assert find_latency_predictor(run, "host-cpu", SPACE, "torch", channels=12, classes=9,
                                  length=29) is None
    p = LatencyPredictor.fit(SPACE, _settings(), "min", _genomes(30, 8), np.full(30, 2e-3))
    cached = predictor_file(cache_folder(SPACE, 12, 9, 29), "host-cpu", "torch")
    assert cached.parent == (tmp_path / "cache" / "latency"
                             / f"hybrid-mcu-{space_fingerprint(SPACE)}" / "c12-k9-l29")
    p.save(cached)
    assert find_latency_predictor(run, "host-cpu", SPACE, "torch") is None  # no shape: run only
    found = find_latency_predictor(run, "host-cpu", SPACE, "torch", channels=12, classes=9,
                                   length=29)
    assert found is not None and np.array_equal(found.coef, p.coef)
    # another runtime's predictor is another file
    assert find_latency_predictor(run, "host-cpu", SPACE, "onnxruntime", channels=12,
                                  classes=9, length=29) is None
    in_run = LatencyPredictor.fit(SPACE, _settings(length=40), "min", _genomes(30, 9),
                                  np.full(30, 3e-3))
    in_run.save(predictor_file(run / "predictors", "host-cpu", "torch"))
    found = find_latency_predictor(run, "host-cpu", SPACE, "torch", channels=12, classes=9,
                                   length=29)
    assert found is not None and found.length == 40


def test_holdout_metrics_by_hand() -> None:
    m = holdout_metrics(np.array([1.04, 0.8, 2.0, 1.0]), np.array([1.0, 1.0, 2.1, 1.0]))
    assert m["n"] == 4
    assert m["within_10"] == 0.75 and m["within_5"] == 0.75
    assert m["max_ape"] == pytest.approx(20.0)
    assert m["mape"] == pytest.approx((4 + 20 + 100 / 21 + 0) / 4)
