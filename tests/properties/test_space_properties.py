"""Property-based tests (hypothesis) over generated search spaces and archs: every valid space
builds a supernet whose extracted subnets equal it, genomes round-trip, and the analytic cost is
non-negative and monotone in width, depth and bits."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasx.predictors.cost.model import CostModel
from nasx.search_spaces import (
    OP_TYPES,
    GenomeCodec,
    SearchSpace,
    canonical_arch,
    largest_arch,
    random_arch,
    smallest_arch,
    space_from_dict,
)
from nasx.supernet import Supernet

CHANNELS, CLASSES, LENGTH = 3, 4, 19
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def choices(values: list[Any], max_size: int = 3) -> st.SearchStrategy[list[Any]]:
    """A non-empty sorted subset of ``values``."""
    return st.lists(st.sampled_from(values), min_size=1, max_size=max_size,
                    unique=True).map(sorted)


@st.composite
def space_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A valid search-space document (as a YAML file would parse)."""
    stages = [{"depth": draw(choices([1, 2, 3])), "width": draw(choices([4, 8, 12, 16])),
               "stride": draw(choices([1, 2])),
               "ops": draw(st.lists(st.sampled_from(OP_TYPES), min_size=1, max_size=4,
                                    unique=True))}
              for _ in range(draw(st.integers(1, 3)))]
    return {
        "name": "generated",
        "causal": draw(st.booleans()),
        "stem": {"width": draw(choices([4, 8, 16])), "kernel": draw(choices([1, 3, 5])),
                 "stride": draw(choices([1, 2]))},
        "stages": stages,
        "ops": {"conv": {"kernel": draw(choices([1, 3, 5, 7])), "expand": draw(choices([1, 2]))},
                "lstm": {"hidden": draw(choices([0.5, 1.0, 1.5]))},
                "ssm": {"state": draw(choices([1, 4, 8])), "expand": draw(choices([1, 2]))},
                "attn": {"heads": draw(choices([1, 2, 3])), "head_dim": draw(st.sampled_from(
                    [2, 4, 8])), "ffn": draw(choices([1, 2]))}},
        "quant": {"weight_bits": draw(choices([4, 8, 32])), "act_bits": draw(choices([8, 32]))},
    }


def spaces() -> st.SearchStrategy[SearchSpace]:
    return space_dicts().map(lambda d: space_from_dict(d, "<generated>"))


def _archs(space: SearchSpace, seed: int, n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [largest_arch(space, rng), smallest_arch(space, rng),
            *(random_arch(space, rng) for _ in range(n))]


@settings(SETTINGS, max_examples=20)
@given(space=spaces(), seed=st.integers(0, 2**16))
def test_every_generated_space_builds_and_extract_equals_the_supernet(space: SearchSpace,
                                                                        seed: int) -> None:
    torch.manual_seed(seed)
    net = Supernet(space, CHANNELS, CLASSES).eval()
    lengths = torch.tensor([LENGTH, 11, 1])
    x = torch.randn(3, CHANNELS, LENGTH) * (torch.arange(LENGTH) < lengths[:, None]).unsqueeze(1)
    with torch.no_grad():
        for arch in _archs(space, seed, 2):
            ref = net(x, lengths, arch=arch)  # (3, CLASSES)
            assert ref.shape == (3, CLASSES) and torch.isfinite(ref).all()
            out = net.extract(arch)(x, lengths)
            assert (ref - out).abs().max().item() <= 1e-5


@SETTINGS
@given(space=spaces(), seed=st.integers(0, 2**16))
def test_genomes_round_trip_and_inactive_genes_are_zero(space: SearchSpace, seed: int) -> None:
    codec = GenomeCodec(space)
    upper = np.array([len(g.choices) - 1 for g in codec.genes])
    for arch in _archs(space, seed, 20):
        g = codec.encode(arch)
        assert g.shape == (codec.length,) and (g >= 0).all() and (g <= upper).all()
        assert codec.decode(g) == canonical_arch(space, arch)
        assert (g[~codec.active_mask(g)] == 0).all()
        assert np.array_equal(codec.encode(codec.decode(g)), g)


def _cost(space: SearchSpace, arch: dict[str, Any], mode: str) -> tuple[int, ...]:
    c = CostModel(space, CHANNELS, CLASSES, length=LENGTH, mode=mode).cost(arch)
    return c.macs, c.params, c.weight_bytes, c.peak_sram_bytes


def _bigger(choices_: tuple, value: Any) -> Any | None:
    later = [c for c in choices_ if c > value]
    return later[0] if later else None


@SETTINGS
@given(space=spaces(), seed=st.integers(0, 2**16),
       mode=st.sampled_from(["whole-sequence", "streaming"]))
def test_cost_is_non_negative_and_monotone(space: SearchSpace, seed: int, mode: str) -> None:
    rng = np.random.default_rng(seed)
    for arch in _archs(space, seed, 5):
        arch = canonical_arch(space, arch)
        base = _cost(space, arch, mode)
        assert min(base) >= 0 and base[0] > 0 and base[1] > 0
        for i, stage in enumerate(space.stages):
            wider = _bigger(stage.width, arch["stages"][i]["width"])
            if wider is not None:  # wider stage: nothing gets cheaper
                a = copy.deepcopy(arch)
                a["stages"][i]["width"] = wider
                assert all(n >= b for n, b in zip(_cost(space, a, mode), base, strict=True))
            deeper = _bigger(stage.depth, arch["stages"][i]["depth"])
            if deeper is not None:  # more blocks: more MACs/params/bytes, SRAM not less
                a = copy.deepcopy(arch)  # (the new blocks keep the stage's output element
                a["stages"][i]["depth"] = deeper  # size: a tensor takes its producer's abits)
                last_abits = a["stages"][i]["blocks"][-1]["abits"]
                while len(a["stages"][i]["blocks"]) < deeper:
                    block = random_arch(space, rng)["stages"][i]["blocks"][0]
                    a["stages"][i]["blocks"].append({**block, "abits": last_abits})
                a = canonical_arch(space, a)
                new = _cost(space, a, mode)
                assert new[0] > base[0] and new[1] > base[1] and new[2] > base[2]
                assert new[3] >= base[3]
            for j, block in enumerate(arch["stages"][i]["blocks"]):
                more = _bigger(space.quant.act_bits, block["abits"])
                if more is not None:  # wider activations: same MACs, SRAM not less, and flash
                    a = copy.deepcopy(arch)  # not more (float inputs need no fp32 scale)
                    a["stages"][i]["blocks"][j]["abits"] = more
                    new = _cost(space, a, mode)
                    assert new[:2] == base[:2] and new[2] <= base[2] and new[3] >= base[3]
                more = _bigger(space.quant.weight_bits, block["wbits"])
                if more is not None:  # more weight bits: flash not less, the rest unchanged
                    a = copy.deepcopy(arch)
                    a["stages"][i]["blocks"][j]["wbits"] = more
                    new = _cost(space, a, mode)
                    assert new[:2] == base[:2] and new[2] >= base[2] and new[3] == base[3]
