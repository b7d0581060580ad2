"""The ONNX streaming step graph: fixed-shape state, every frame's logits equal to the
whole-sequence logits of the frames so far (eager and in onnxruntime), a strided stage
updating only on its frames, and non-causal subnets refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from export_helpers import exported, op_arch, padded_batch, tiny_space, warmed

from nasx.export import NotStreamableError
from nasx.export.onnx_step import StepGraph, check_onnx_step, export_onnx_step


def _net(op: str, second: str, wbits: int = 32, abits: int = 32):
    space = tiny_space(causal=True)
    arch = op_arch(space, op, wbits=wbits, abits=abits, second=second, stride=2, stem_kernel=3)
    return exported(warmed(space, [arch]), arch)


@pytest.mark.parametrize(("op", "second", "bits"), [("conv", "ssm", 32), ("lstm", "attn", 32),
                                                    ("attn", "conv", 8), ("ssm", "lstm", 4)])
def test_eager_step_graph_equals_every_prefix(op: str, second: str, bits: int) -> None:
    net = _net(op, second, wbits=bits)
    x, _ = padded_batch(seed=3, batch=1, length=11)
    graph = StepGraph(net, capacity=11).eval()
    state = graph.init_state()
    assert [tuple(s.shape) for s in state] == [shape for _, shape in graph.state_spec()]
    with torch.no_grad():
        for t in range(11):
            logits, *state = graph(x[:, :, t], *state)
            assert float((logits - net(x[:, :, :t + 1], None)).abs().max()) <= 1e-5


def test_onnx_step_graph_in_onnxruntime(tmp_path: Path) -> None:
    net = _net("attn", "lstm")
    x, lengths = padded_batch(seed=4, batch=3, length=9)
    export_onnx_step(net, tmp_path / "step.onnx", capacity=9)
    got, want = check_onnx_step(net, tmp_path / "step.onnx", x, lengths)
    assert got.shape == want.shape == (int(lengths.sum()), 4)
    assert float((got - want).abs().max()) <= 1e-5


def test_a_non_causal_subnet_has_no_step_graph() -> None:
    space = tiny_space(causal=False)
    arch = op_arch(space, "conv")
    with pytest.raises(NotStreamableError, match="not streamable: stem \\(conv\\) is not causal"):
        StepGraph(exported(warmed(space, [arch]), arch), capacity=8)
