"""The analytic cost model agrees exactly with independent counts on the extracted module.

``module_weight_bytes`` counts the deployed bytes from the StaticNet's parameters;
``trace_module`` runs the StaticNet and records every step it really executes. Both share no
code with the cost model, so agreement checks the model's schedule, shapes and sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hand_archs import CHANNELS, CLASSES, LENGTH, hand_arch, hand_space
from module_audit import module_weight_bytes, trace_module

from nasx.predictors import CostModel
from nasx.search_spaces import (
    GenomeCodec,
    largest_arch,
    load_space,
    random_arch,
    smallest_arch,
    space_from_dict,
    space_to_dict,
)
from nasx.supernet import Supernet


def _causal_odd_space():
    """tiny, causal (left-padded convs), odd widths (4-bit packing rounds up), stride 2."""
    d = space_to_dict(load_space("tiny"))
    d.update(name="tiny-causal-odd", causal=True)
    d["stem"]["width"] = [7, 9]
    d["stages"][0]["width"] = [5, 11]
    return space_from_dict(d)


@pytest.fixture(scope="module", params=["tiny", "hybrid-mcu", "causal-odd"])
def space_and_net(request):
    space = _causal_odd_space() if request.param == "causal-odd" else load_space(request.param)
    torch.manual_seed(0)
    return space, Supernet(space, 5, 4).eval()


@pytest.mark.parametrize("mode", ["whole-sequence", "streaming"])
def test_flash_params_macs_and_sram_equal_the_module(space_and_net, mode: str) -> None:
    space, net = space_and_net
    length = 23
    model = CostModel(space, 5, 4, length=length, mode=mode)
    rng = np.random.default_rng(7)
    archs = [largest_arch(space, rng), smallest_arch(space, rng)]
    archs += [random_arch(space, rng) for _ in range(4)]
    for arch in archs:
        static = net.extract(arch)
        cost, trace = model.cost(arch), trace_module(static, length, mode)
        assert cost.weight_bytes == module_weight_bytes(static)
        assert cost.params == sum(p.numel() for p in static.parameters())
        assert cost.peak_sram_bytes == trace.peak_sram_bytes
        # step by step, not only the maximum
        steps = model.schedule(arch)
        assert [s.live_bytes for s in steps] == trace.live
        assert sum(s.state_bytes for s in steps) == trace.state_bytes
        if mode == "whole-sequence":
            assert cost.macs == trace.macs


@pytest.mark.parametrize("op", ["conv", "lstm", "ssm", "attn"])
def test_module_counts_reproduce_the_hand_values(op: str) -> None:
    # the same hand numbers as test_cost_hand.py, now from the module side
    torch.manual_seed(0)
    net = Supernet(hand_space(op), CHANNELS, CLASSES).eval()
    static = net.extract(hand_arch(op))
    whole = {"conv": (752, 400), "lstm": (1324, 640), "ssm": (1140, 448), "attn": (1180, 1200)}
    stream = {"conv": 108, "lstm": 188, "ssm": 196, "attn": 316}
    assert module_weight_bytes(static) == whole[op][0]
    assert trace_module(static, LENGTH).peak_sram_bytes == whole[op][1]
    assert trace_module(static, LENGTH, "streaming").peak_sram_bytes == stream[op]


def test_genome_batch_equals_arch_by_arch() -> None:
    space = load_space("hybrid-mcu")
    codec, rng = GenomeCodec(space), np.random.default_rng(3)
    archs = [random_arch(space, rng) for _ in range(200)]
    for mode in ("whole-sequence", "streaming"):
        model = CostModel(space, 12, 9, length=50, mode=mode)
        batch = model.costs(np.stack([codec.encode(a) for a in archs]))
        one = [model.cost(a) for a in archs]
        for key in ("macs", "params", "weight_bytes", "flash_bytes", "peak_sram_bytes"):
            assert batch[key].tolist() == [getattr(c, key) for c in one]
