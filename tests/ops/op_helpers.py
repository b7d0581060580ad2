"""Checks every op added as an op module must pass (issue 19), shared by ``test_<op>.py``: a
small space with the op, a two-block arch, a briefly trained supernet, and the equivalence,
export, C runtime and cost checks over them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from host_c_check import check_host_build
from module_audit import module_weight_bytes, trace_module

from nasx.export import ExportedNet, build_exported, export_static, spec_for
from nasx.export.graph_formats import export_onnx, export_pt2, load_pt2, onnx_session, run_onnx
from nasx.export.mcu.build import build_and_run_host, write_c_export
from nasx.export.mcu.cortex_m7 import run_m7
from nasx.export.mcu.emit import model_source
from nasx.export.onnx_step import check_onnx_step, export_onnx_step
from nasx.export.streaming import StreamingNet
from nasx.export.verify import has_act_quant
from nasx.predictors import CostModel, load_device
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
# (causal, wbits, abits) of the C runtime checks each op runs
C_CASES = [(False, 32, 32), (True, 32, 32), (True, 8, 32), (False, 4, 8), (True, 8, 8)]
Arch = dict[str, Any]


def op_space(op: str, choices: dict[str, Any], causal: bool = False) -> SearchSpace:
    """``tiny`` with ``op`` (``choices``) allowed in both stages, drawn 3x as often as each
    other op."""
    raw = space_to_dict(load_space("tiny"))
    raw.update(name=f"tiny-{op}", causal=causal)
    for st in raw["stages"]:
        st["ops"] = [*st["ops"], op]
    raw["ops"][op] = choices
    raw["sampling"] = {"op_weights": {op: 3}}
    return space_from_dict(raw)


def two_stage_arch(space: SearchSpace, blocks: list[dict[str, Any]], wbits: int,
                   abits: int) -> Arch:
    """Stem + two stages (widths 16 and 24, the second strided by 2) of one block each."""
    bits = {"wbits": wbits, "abits": abits}
    arch = {"stem": {"width": 16, "kernel": 5, "stride": 1, **bits},
            "stages": [{"depth": 1, "width": w, "stride": s, **bits, "blocks": [{**b, **bits}]}
                       for w, s, b in zip((16, 24), (1, 2), blocks, strict=True)]}
    return canonical_arch(space, arch)


def batch(seed: int, n: int = 6, length: int = 19) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded ``x (n, C, length)`` of random lengths (the first full, the last 1)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, length + 1, (n,), generator=g)
    lengths[0], lengths[-1] = length, 1
    x = torch.randn(n, CHANNELS, length, generator=g)
    return x * (torch.arange(length) < lengths[:, None]).unsqueeze(1), lengths


def warmed(space: SearchSpace, archs: list[Arch]) -> Supernet:
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


def exported(net: Supernet, arch: Arch) -> ExportedNet:
    """The exported module of ``arch``."""
    with torch.no_grad():
        static = net.extract(copy.deepcopy(arch)).eval()
    return export_static(static, spec_for(net.space, static.arch, CHANNELS, CLASSES))


def has_op(arch: Arch, op: str, quantized: bool = False) -> bool:
    """Whether ``arch`` has an ``op`` block (with weights below 32 bits if ``quantized``)."""
    return any(b["op"] == op and (not quantized or b["wbits"] < 32)
               for st in arch["stages"] for b in st["blocks"])


def check_extract_on_100_archs(space: SearchSpace, op: str) -> None:
    """Extract equals the supernet within 1e-5 on 100 random archs, >= 60 with ``op``."""
    rng = np.random.default_rng(19)
    archs = [random_arch(space, rng) for _ in range(100)]
    net = warmed(space, archs[:8])
    x, lengths = batch(3)
    worst = 0.0
    with torch.no_grad():
        for a in archs:
            ref = net(x, lengths, arch=a)
            worst = max(worst, (net.extract(a)(x, lengths) - ref).abs().max().item())
    assert worst <= 1e-5
    assert sum(has_op(a, op) for a in archs) >= 60
    assert sum(has_op(a, op, quantized=True) for a in archs) >= 30


def check_export_round_trip(space: SearchSpace, arch: Arch) -> dict[str, torch.Tensor]:
    """The export and its safetensors rebuild equal the supernet; returns the file tensors."""
    net = warmed(space, [arch])
    ex = exported(net, arch)
    rebuilt = build_exported(ex.spec, ex.tensors(), "model.safetensors")
    x, lengths = batch(4)
    with torch.no_grad():
        ref = net(x, lengths, arch=arch)
        assert (ex(x, lengths) - ref).abs().max() <= 1e-5
        assert torch.equal(rebuilt(x, lengths), ex(x, lengths))
    return ex.tensors()


def check_streaming(space: SearchSpace, arch: Arch) -> dict[str, torch.Tensor]:
    """Streaming equals the whole sequence at every step; returns the state of batch 2."""
    net = warmed(space, [arch])
    x = torch.randn(3, CHANNELS, 13, generator=torch.Generator().manual_seed(2))
    stream = StreamingNet(exported(net, arch))
    streamed = stream.run(x)  # (B, K, L)
    with torch.no_grad():
        for t in range(x.shape[-1]):
            prefix = net(x[:, :, : t + 1], None, arch=arch)
            assert (streamed[:, :, t] - prefix).abs().max() <= 1e-5, t
    return stream.init_state(2)


def check_graph_formats(tmp_path: Path, space: SearchSpace, arch: Arch) -> None:
    """pt2 and ONNX (traced at 17) equal the supernet at lengths 5, 23 and 40."""
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


def check_onnx_step_graph(tmp_path: Path, space: SearchSpace, arch: Arch) -> None:
    """The ONNX step graph equals the whole sequence frame by frame."""
    ex = exported(warmed(space, [arch]), arch)
    export_onnx_step(ex, tmp_path / "model_step.onnx", capacity=16)
    x, lengths = batch(8, 3, 12)
    got, want = check_onnx_step(ex, tmp_path / "model_step.onnx", x, lengths)
    assert got.shape[0] == int(lengths.sum()) and (got - want).abs().max() <= 1e-5


def check_c_runtime(tmp_path: Path, space: SearchSpace, arch: Arch, kernel: str) -> None:
    """The C runtime built with the host's cc equals the module (float: within 1e-4; with
    quantized activations: argmax on >= 99%); causal spaces also step frame by frame."""
    net = exported(warmed(space, [arch]), arch)
    x, lengths = batch(2, 24, 19)
    with torch.no_grad():
        ref = net(x, lengths)
    exact = not has_act_quant(arch)
    write_c_export(tmp_path, net, 19, x, lengths, ref, exact)
    source = (tmp_path / "model.c").read_text()
    assert f"{kernel}(" in source
    ran = check_host_build(tmp_path, ref, exact)
    if space.causal:  # reset()/step(): after every frame equal to run() on the prefix
        assert f"{kernel}_step(" in source
        assert ran.stream_max_diff is not None
        assert ran.stream_max_diff <= (1e-5 if exact else 0.05)


def check_cortex_m7(tmp_path: Path, space: SearchSpace, arch: Arch) -> None:
    """The Cortex-M7 build on QEMU gives the host build's logits (1e-4) and argmax."""
    net = exported(warmed(space, [arch]), arch)
    x, lengths = batch(4, 10, 19)
    with torch.no_grad():
        ref = net(x, lengths)
    write_c_export(tmp_path, net, 19, x, lengths, ref, False)
    host = build_and_run_host(tmp_path, ref.shape[1])
    m7 = run_m7(tmp_path, ref.shape[1])
    assert m7.returncode == host.returncode == 0
    assert torch.equal(m7.logits.argmax(1), host.logits.argmax(1))
    assert float((m7.logits - host.logits).abs().max()) <= 1e-4


def check_runtime_arena(space: SearchSpace, op: str) -> None:
    """The MCU cost model's SRAM equals the emitted C arena on random archs with ``op``."""
    rng = np.random.default_rng(11)
    archs = [a for a in (random_arch(space, rng) for _ in range(12)) if has_op(a, op)]
    assert len(archs) >= 8
    net = warmed(space, archs)
    device = load_device("stm32f746")
    for length in (29, 7):
        model = CostModel(space, CHANNELS, CLASSES, length=length, device=device)
        for arch in archs:
            src = model_source(exported(net, arch), length)
            assert src.run_peak_bytes == model.cost(arch).peak_sram_bytes


def check_cost_on_50_archs(space: SearchSpace, mode: str) -> None:
    """Analytic weight bytes, params, live bytes per step, state, peak SRAM and MACs equal
    :mod:`module_audit`'s counts on 50 random extracted archs."""
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


def skip_without(check: Callable[[], str | None], what: str) -> pytest.MarkDecorator:
    """A skip mark while ``check()`` names a missing tool."""
    reason = check()
    return pytest.mark.skipif(reason is not None, reason=f"{what}: {reason}")
