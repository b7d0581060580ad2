"""The ``gru`` op (issue 19: a block type added as one op module): extract equals the
supernet, streaming equals the whole sequence, every export format agrees, and the analytic
cost equals the independent counts on the extracted module."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from module_audit import module_weight_bytes, trace_module

from nasx.export import ExportError, build_exported, export_static, spec_for
from nasx.export.c_header import c_header
from nasx.export.graph_formats import (
    export_onnx,
    export_pt2,
    load_pt2,
    onnx_session,
    run_onnx,
)
from nasx.export.onnx_step import check_onnx_step, export_onnx_step
from nasx.export.streaming import StreamingNet
from nasx.predictors import CostModel
from nasx.predictors.latency.features import FEATURE_NAMES, unit_vector
from nasx.search_spaces import (
    SearchSpace,
    canonical_arch,
    load_space,
    random_arch,
    space_from_dict,
    space_to_dict,
)
from nasx.supernet import Supernet

CHANNELS, CLASSES = 5, 4


def gru_space(causal: bool = False) -> SearchSpace:
    """``tiny`` with ``gru`` allowed in both stages and drawn 3x as often as each other op."""
    raw = space_to_dict(load_space("tiny"))
    raw.update(name="tiny-gru", causal=causal)
    for st in raw["stages"]:
        st["ops"] = [*st["ops"], "gru"]
    raw["ops"]["gru"] = {"hidden": [0.5, 1.0]}
    raw["sampling"] = {"op_weights": {"gru": 3}}
    return space_from_dict(raw)


def gru_arch(space: SearchSpace, wbits: int = 32, abits: int = 32) -> dict[str, Any]:
    """Stem + two stages (the second strided by 2) of one GRU block each."""
    bits = {"wbits": wbits, "abits": abits}
    blocks = [{"op": "gru", "hidden": h, **bits} for h in (1.0, 0.5)]
    arch = {"stem": {"width": 16, "kernel": 5, "stride": 1, **bits},
            "stages": [{"depth": 1, "width": 16, "stride": 1, **bits, "blocks": [blocks[0]]},
                       {"depth": 1, "width": 24, "stride": 2, **bits, "blocks": [blocks[1]]}]}
    return canonical_arch(space, arch)


def batch(seed: int, n: int = 6, length: int = 19) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded ``x (n, C, length)`` of random lengths (the first full, the last 1)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, length + 1, (n,), generator=g)
    lengths[0], lengths[-1] = length, 1
    x = torch.randn(n, CHANNELS, length, generator=g)
    return x * (torch.arange(length) < lengths[:, None]).unsqueeze(1), lengths


def warmed(space: SearchSpace, archs: list[dict[str, Any]]) -> Supernet:
    """A seeded supernet after a few SGD steps on ``archs`` (quantizers see ranges); eval."""
    torch.manual_seed(0)
    net = Supernet(space, CHANNELS, CLASSES)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    x, lengths = batch(100, 8, 20)
    y = torch.arange(8) % CLASSES
    net.train()
    for _ in range(3):
        opt.zero_grad()
        for a in archs:
            torch.nn.functional.cross_entropy(net(x, lengths, arch=a), y).backward()
        opt.step()
    return net.eval()


def exported(net: Supernet, arch: dict[str, Any]):
    with torch.no_grad():
        static = net.extract(copy.deepcopy(arch)).eval()
    return export_static(static, spec_for(net.space, static.arch, CHANNELS, CLASSES))


def test_extract_equals_supernet_on_100_random_archs() -> None:
    space = gru_space()
    rng = np.random.default_rng(19)
    archs = [random_arch(space, rng) for _ in range(100)]
    net = warmed(space, archs[:8])
    x, lengths = batch(3)
    worst, grus, quantized = 0.0, 0, 0
    with torch.no_grad():
        for a in archs:
            ref = net(x, lengths, arch=a)
            worst = max(worst, (net.extract(a)(x, lengths) - ref).abs().max().item())
            blocks = [b for st in a["stages"] for b in st["blocks"]]
            grus += any(b["op"] == "gru" for b in blocks)
            quantized += any(b["op"] == "gru" and b["wbits"] < 32 for b in blocks)
    assert worst <= 1e-5
    assert grus >= 60 and quantized >= 30


@pytest.mark.parametrize("bits", [32, 8])
def test_export_and_safetensors_round_trip_equal_the_supernet(bits: int) -> None:
    space = gru_space()
    arch = gru_arch(space, bits, bits)
    net = warmed(space, [arch])
    ex = exported(net, arch)
    rebuilt = build_exported(ex.spec, ex.tensors(), "model.safetensors")
    x, lengths = batch(4)
    with torch.no_grad():
        ref = net(x, lengths, arch=arch)
        assert (ex(x, lengths) - ref).abs().max() <= 1e-5
        assert torch.equal(rebuilt(x, lengths), ex(x, lengths))
    assert ex.tensors()["stages.0.blocks.0.hh.weight" if bits == 32 else
                        "stages.0.blocks.0.hh.weight_i8"].shape == (48, 16)  # (3H, H)


def test_streaming_equals_whole_sequence_at_every_step() -> None:
    space = gru_space(causal=True)
    arch = gru_arch(space)  # the second stage strides by 2: it runs on every other frame
    net = warmed(space, [arch])
    x = torch.randn(3, CHANNELS, 13, generator=torch.Generator().manual_seed(2))
    stream = StreamingNet(exported(net, arch))
    assert stream.init_state(2)["stages.1.blocks.0.h"].shape == (1, 2, 12)
    streamed = stream.run(x)  # (B, K, L)
    with torch.no_grad():
        for t in range(x.shape[-1]):
            prefix = net(x[:, :, : t + 1], None, arch=arch)
            assert (streamed[:, :, t] - prefix).abs().max() <= 1e-5, t


def test_pt2_and_onnx_match_the_supernet_at_other_lengths(tmp_path: Path) -> None:
    space = gru_space()
    arch = gru_arch(space)
    net = warmed(space, [arch])
    ex = exported(net, arch)
    export_pt2(ex, tmp_path / "model.pt2", 17)
    export_onnx(ex, tmp_path / "model.onnx", 17)
    program, session = load_pt2(tmp_path / "model.pt2"), onnx_session(tmp_path / "model.onnx")
    for seed, n, length in ((5, 1, 5), (6, 4, 23), (7, 3, 40)):
        x, lengths = batch(seed, n, length)
        with torch.no_grad():
            ref = net(x, lengths, arch=arch)
            assert (program(x, lengths) - ref).abs().max() <= 1e-5
        assert (run_onnx(session, x, lengths) - ref).abs().max() <= 1e-5


def test_onnx_step_graph_equals_whole_sequence(tmp_path: Path) -> None:
    space = gru_space(causal=True)
    arch = gru_arch(space)
    ex = exported(warmed(space, [arch]), arch)
    export_onnx_step(ex, tmp_path / "model_step.onnx", capacity=16)
    x, lengths = batch(8, 3, 12)
    got, want = check_onnx_step(ex, tmp_path / "model_step.onnx", x, lengths)
    assert got.shape[0] == int(lengths.sum()) and (got - want).abs().max() <= 1e-5


def test_c_export_is_a_one_line_error_naming_the_block() -> None:
    space = gru_space()
    arch = gru_arch(space)
    ex = exported(warmed(space, [arch]), arch)
    with pytest.raises(ExportError, match=r"^cannot export stages\.0\.blocks\.0 \(gru\) to C: "
                                          "the C runtime has no GRU kernel; leave 'c' out of "
                                          "--format or pick a subnet without GRU blocks$"):
        c_header(ex)


@pytest.mark.parametrize("mode", ["whole-sequence", "streaming"])
def test_cost_equals_the_module_counts_on_50_archs(mode: str) -> None:
    space = gru_space(causal=True)
    torch.manual_seed(0)
    net = Supernet(space, CHANNELS, CLASSES).eval()
    length = 23
    model = CostModel(space, CHANNELS, CLASSES, length=length, mode=mode)
    rng = np.random.default_rng(7)
    for _ in range(50):
        arch = random_arch(space, rng)
        static = net.extract(arch)
        cost, trace = model.cost(arch), trace_module(static, length, mode)
        assert cost.weight_bytes == module_weight_bytes(static)
        assert cost.params == sum(p.numel() for p in static.parameters())
        steps = model.schedule(arch)
        assert [s.live_bytes for s in steps] == trace.live
        assert sum(s.state_bytes for s in steps) == trace.state_bytes
        assert cost.peak_sram_bytes == trace.peak_sram_bytes
        if mode == "whole-sequence":
            assert cost.macs == trace.macs


def test_latency_features_of_a_gru_unit() -> None:
    # W = 16, H = 8, 8-bit weights, float activations, 10 steps
    v = dict(zip(FEATURE_NAMES, unit_vector(("gru", 16, 8, 8, 32), 10), strict=True))
    numel = 3 * 8 * (16 + 8) + 8 * 16
    assert v["gru.count"] == 1 and v["gru.wq"] == 1 and v["gru.aq"] == 0
    assert v["gru.macs"] == numel * 10 / 1e6 and v["gru.wq_numel"] == numel / 1e3
    assert v["gru.elems"] == (2 * 16 + 4 * 8) * 10 / 1e3 and v["gru.steps"] == 10
    assert sum(abs(x) for k, x in v.items() if not k.startswith("gru.")) == 0
