"""The exact per-metric extremes against brute force over every subnet of a small space."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from nasx.predictors import CostModel, load_device
from nasx.search.cheapest import extreme_cost
from nasx.search.repair import GenomeRepair
from nasx.search_spaces import (
    OP_CHOICE_KEYS,
    GenomeCodec,
    count_subnets,
    load_space,
    space_from_dict,
)

SMALL = {
    "name": "small",
    "stem": {"width": [8, 16], "kernel": [3], "stride": [1, 2]},
    "stages": [{"depth": [1, 2], "width": [8, 16], "stride": 1, "ops": ["conv", "lstm", "attn"]}],
    "ops": {"conv": {"kernel": [3, 5], "expand": [1, 2]}, "lstm": {"hidden": [0.5, 1.0]},
            "attn": {"heads": [1, 2], "head_dim": 8, "ffn": [1]}},
    "quant": {"weight_bits": [8], "act_bits": [8, 32]},
}
METRICS = {"latency": ("latency_s", 1e3), "sram": ("sram_bytes", 1 / 1024),
           "flash": ("flash_bytes", 1 / 1024)}


def every_arch(space: Any) -> list[dict[str, Any]]:
    """Every subnet of ``space`` (one stage spaces only)."""
    q = space.quant
    bits = list(itertools.product(q.weight_bits, q.act_bits))
    (st,) = space.stages
    blocks = []
    for op in st.ops:
        keys = OP_CHOICE_KEYS[op]
        for values in itertools.product(*(getattr(space.ops[op], k) for k in keys)):
            for wb, ab in bits:
                blocks.append({"op": op, **dict(zip(keys, values, strict=True)), "wbits": wb,
                               "abits": ab})
    out = []
    for w, k, s, (wb, ab) in itertools.product(space.stem.width, space.stem.kernel,
                                               space.stem.stride, bits):
        stem = {"width": w, "kernel": k, "stride": s, "wbits": wb, "abits": ab}
        for sw, ss, (swb, sab) in itertools.product(st.width, st.stride, bits):
            for d in st.depth:
                for chosen in itertools.product(blocks, repeat=d):
                    out.append({"stem": stem, "stages": [
                        {"depth": d, "width": sw, "stride": ss, "wbits": swb, "abits": sab,
                         "blocks": list(chosen)}]})
    return out


@pytest.fixture(scope="module")
def small() -> tuple[Any, np.ndarray]:
    space = space_from_dict(SMALL, "small.yaml")
    codec = GenomeCodec(space)
    archs = every_arch(space)
    assert len(archs) == count_subnets(space) == 8704
    return space, np.array([codec.encode(a) for a in archs])


@pytest.mark.parametrize("device", ["stm32f746", "h100"])
@pytest.mark.parametrize("mode", ["whole-sequence", "streaming"])
def test_extremes_equal_brute_force(small: tuple[Any, np.ndarray], device: str,
                                    mode: str) -> None:
    space, genomes = small
    model = CostModel(space, 3, 5, length=17, mode=mode, device=load_device(device))
    costs = model.costs(genomes)
    ok = costs["supported"]
    for metric, (key, scale) in METRICS.items():
        values = costs[key][ok] * scale
        low, high = extreme_cost(model, metric), extreme_cost(model, metric, largest=True)
        assert low.value == pytest.approx(values.min(), rel=1e-12)
        assert high.value == pytest.approx(values.max(), rel=1e-12)
        for ext in (low, high):  # the returned arch attains the value
            c = model.cost(ext.arch)
            assert getattr(c, key) * scale == pytest.approx(ext.value, rel=1e-12)


def test_cheapest_metrics_are_different_subnets_on_hybrid_mcu() -> None:
    space = load_space("hybrid-mcu")
    model = CostModel(space, 12, 9, length=29, device=load_device("stm32f746"))
    rep = GenomeRepair(GenomeCodec(space))
    lowest = {m: extreme_cost(model, m) for m in METRICS}
    rng = np.random.default_rng(0)
    genomes = rep(np.floor(rng.random((3000, rep.codec.length)) * (rep.codec.upper + 1)))
    costs = model.costs(genomes)
    for metric, (key, scale) in METRICS.items():
        assert lowest[metric].value <= (costs[key] * scale).min()
        assert getattr(model.cost(lowest[metric].arch), key) * scale == pytest.approx(
            lowest[metric].value, rel=1e-12)
    assert lowest["latency"].arch != lowest["sram"].arch != lowest["flash"].arch


def test_unsupported_bits_are_never_chosen() -> None:
    space = load_space("hybrid-mcu")  # int4 weights: h100 runs int8 / fp32 only
    model = CostModel(space, 12, 9, length=29, device=load_device("h100"))
    for metric in METRICS:
        assert model.cost(extreme_cost(model, metric).arch).supported


def test_unit_latency_replaces_the_analytic_latency(small: tuple[Any, np.ndarray]) -> None:
    space, genomes = small
    model = CostModel(space, 3, 5, length=17, device=load_device("stm32f746"))

    def per_unit(unit: tuple, length: int) -> float:  # a made-up additive latency table
        return 1e-6 * length * (1 + len(unit)) + (2e-6 if unit[0] == "lstm" else 0.0)

    totals = []
    for g in genomes:
        length, t = 17, 0.0
        for u in model.genome_units(g.tolist()):
            t += per_unit(u, length)
            if u[0] == "convbn":
                length = -(-length // u[4])
        totals.append(t)
    ext = extreme_cost(model, "latency", unit_latency=per_unit)
    assert ext.value == pytest.approx(min(totals) * 1e3, rel=1e-12)
