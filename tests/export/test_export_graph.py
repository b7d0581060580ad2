"""model.pt2 and model.onnx: dynamic batch and length, equal to the supernet subnet; QDQ for
int8 layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import pytest
import torch
from export_helpers import exported, op_arch, padded_batch, tiny_space, warmed

from nasx.export.convert import ExportError
from nasx.export.exporter import check_qdq
from nasx.export.graph_formats import (
    export_onnx,
    export_pt2,
    load_pt2,
    load_pt2_program,
    onnx_op_counts,
    onnx_session,
    pt2_min_length,
    run_onnx,
)
from nasx.export.net import ExportedNet
from nasx.supernet import Supernet

TRACED = 17  # the length both exporters trace at; the checks use other lengths and batches
SHAPES = [(1, 5), (4, 23), (3, 40)]


def _batches():
    for i, (b, length) in enumerate(SHAPES):
        yield padded_batch(seed=10 + i, batch=b, length=length)


def test_pt2_matches_the_supernet_at_other_lengths_and_batches(tmp_path: Path) -> None:
    space = tiny_space()
    arch = op_arch(space, "lstm", second="ssm")  # LSTM (while_loop) and a strided SSM stage
    net = warmed(space, [arch])
    path = tmp_path / "model.pt2"
    export_pt2(exported(net, arch), path, TRACED)
    assert pt2_min_length(load_pt2_program(path)) == 3  # stride 2: every stage sees >= 2 steps
    module = load_pt2(path)
    for x, lengths in _batches():
        with torch.no_grad():
            assert (module(x, lengths) - net(x, lengths, arch=arch)).abs().max() <= 1e-5


def test_onnx_float_matches_the_supernet_with_dynamic_batch_and_length(tmp_path: Path) -> None:
    space = tiny_space()
    arch = op_arch(space, "attn", second="conv")
    net = warmed(space, [arch])
    path = tmp_path / "model.onnx"
    export_onnx(exported(net, arch), path, TRACED)
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    # before: the length axis was called e.g. s53
    assert [d.dim_param for d in dims] == ["batch", "", "length"]  # C fixed
    out = onnx.load(str(path)).graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in out] == ["batch", ""]  # logits (B, K)
    session = onnx_session(path)
    for x, lengths in [*_batches(), padded_batch(seed=3, batch=2, length=1)]:
        with torch.no_grad():
            ref = net(x, lengths, arch=arch)
        assert (run_onnx(session, x, lengths) - ref).abs().max() <= 1e-5
    counts = onnx_op_counts(path)
    assert counts.get("QuantizeLinear", 0) == 0 and counts.get("DequantizeLinear", 0) == 0


def _qdq_onnx(tmp_path: Path, arch: dict[str, Any]
              ) -> tuple[Supernet, ExportedNet, Path, dict[str, int], int]:
    """``arch`` of the warmed tiny supernet exported to ONNX with QDQ: the supernet, the
    exported net, the file, its op counts and the number of int8 weight layers."""
    net = warmed(tiny_space(), [arch])
    ex = exported(net, arch)
    path = tmp_path / "model.onnx"
    export_onnx(ex, path, TRACED)
    n_weights = sum(1 for k in ex.tensors() if k.endswith(".weight_i8"))
    return net, ex, path, onnx_op_counts(path), n_weights


def test_onnx_int8_blocks_are_qdq_and_agree_on_the_argmax(tmp_path: Path) -> None:
    arch = op_arch(tiny_space(), "lstm", 8, 8, second="attn")
    net, ex, path, counts, n_weights = _qdq_onnx(tmp_path, arch)
    model = onnx.load(str(path))
    # every weight layer: a DequantizeLinear of int8 codes; every activation quantizer: Q + DQ
    n_acts = sum(1 for k in ex.tensors() if k.endswith(".act_amax"))
    assert counts["QuantizeLinear"] == n_acts
    assert counts["DequantizeLinear"] == n_acts + n_weights
    int8_inits = {t.name for t in model.graph.initializer
                  if t.data_type == onnx.TensorProto.INT8 and len(t.dims) >= 2}
    weight_dq = [n for n in model.graph.node
                 if n.op_type == "DequantizeLinear" and n.input[0] in int8_inits]
    assert len(weight_dq) == n_weights  # int8 codes stored, dequantized per channel
    session = onnx_session(path)
    x, lengths = padded_batch(seed=7, batch=64, length=TRACED + 6)
    with torch.no_grad():
        ref = net(x, lengths, arch=arch)
    out = run_onnx(session, x, lengths)
    assert (out.argmax(1) == ref.argmax(1)).float().mean() >= 0.99
    assert (out - ref).abs().max() < 0.05


def test_weight_only_int8_has_dequantize_nodes_only_and_passes_the_check(tmp_path: Path) -> None:
    # int8 weights with float activations (a pick of the demo's search): the weights are int8
    # initializers behind DequantizeLinear, and there is no QuantizeLinear at all
    space = tiny_space()
    arch = op_arch(space, "attn", 8, 32, second="conv")
    _, _, _, counts, n_weights = _qdq_onnx(tmp_path, arch)
    assert n_weights > 0 and counts.get("QuantizeLinear", 0) == 0
    assert counts["DequantizeLinear"] == n_weights
    check_qdq(arch, {"QuantizeLinear": 0, "DequantizeLinear": n_weights})
    with pytest.raises(ExportError) as err:
        check_qdq(arch, {"QuantizeLinear": 0, "DequantizeLinear": 0})
    assert str(err.value) == ("onnx: the subnet has int8 weights but the graph has no "
                              "DequantizeLinear node; report this as a bug")
    both = op_arch(space, "conv", 8, 8)
    with pytest.raises(ExportError) as err:
        check_qdq(both, {"QuantizeLinear": 0, "DequantizeLinear": 5})
    assert str(err.value) == ("onnx: the subnet has int8 weights and activations but the graph "
                              "has no QuantizeLinear node; report this as a bug")
    check_qdq(op_arch(space, "conv"), {})  # a float subnet needs no QDQ
