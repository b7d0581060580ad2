"""``model.pt2`` (``torch.export``) and ``model.onnx`` (the dynamo ONNX exporter), both with a
dynamic batch size and sequence length, inputs ``x (B, C, L)`` float32 and ``lengths (B,)``
int64, output ``logits (B, K)``.

- pt2: the float graph (quantized weights stored dequantized, activation fake quantization as
  float arithmetic, exactly as in eager mode). LSTMs become a ``while_loop`` over time (the
  decomposition ``torch.onnx`` itself uses for dynamic lengths). Load it with
  ``torch.export.load(path).module()``; nasx is not needed.
- onnx: quantized layers (bits <= 8) as QDQ: int8 weight initializers with a per-channel
  ``DequantizeLinear``; activations ``Clip`` to the symmetric range, then ``QuantizeLinear`` /
  ``DequantizeLinear`` with the trained scale. LSTMs become the ONNX ``LSTM`` op. Run it with
  onnxruntime (:func:`onnx_session`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from nasx.export.convert import ExportError
from nasx.export.net import ExportedNet

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


def example_inputs(net: ExportedNet, length: int) -> tuple[Tensor, Tensor]:
    """A traced example: batch 2 (lengths ``length`` and ``length - 1``), so neither batch nor
    length is specialised to 0 or 1."""
    length = max(length, 3)
    x = torch.randn(2, net.spec.in_channels, length, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([length, length - 1])
    x[1, :, length - 1:] = 0
    return x, lengths


def _dynamic_shapes() -> dict[str, dict[int, object]]:
    # The length is AUTO: torch.export derives its range (a strided stage must see >= 2 steps,
    # so a net with total stride S takes lengths >= S + 1); pt2_min_length reads it back.
    batch, length = torch.export.Dim("batch"), torch.export.Dim.AUTO
    return {"x": {0: batch, 2: length}, "lengths": {0: batch}}


@contextlib.contextmanager
def _tracing(net: ExportedNet, qdq: bool) -> Iterator[None]:
    """Traceable SSM scans (and QDQ quantizers), quiet exporters; restored on exit."""
    net.export_mode(traceable=True, qdq=qdq)
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    onnx_log.setLevel(logging.ERROR)  # "torchvision is not installed" and similar notices
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        onnx_log.setLevel(level)
        net.export_mode(traceable=False, qdq=False)


@contextlib.contextmanager
def _rnn_while_loop() -> Iterator[None]:
    """LSTMs and GRUs trace as a ``while_loop`` over the steps (any length, not the traced
    one)."""
    try:
        from torch.export._patches import (
            register_gru_while_loop_decomposition,
            register_lstm_while_loop_decomposition,
        )
    except ImportError:  # older torch: recurrent blocks then trace with a fixed length
        yield
        return
    with register_lstm_while_loop_decomposition(), register_gru_while_loop_decomposition():
        yield


def export_pt2(net: ExportedNet, path: Path, length: int) -> None:
    """Write ``net`` as a ``torch.export`` program to ``path`` (traced at ``length``); it takes
    any batch size and lengths from :func:`pt2_min_length` up.

    Raises:
        ExportError: torch.export cannot trace it.
    """
    x, lengths = example_inputs(net, length)
    try:
        with _tracing(net, qdq=False), _rnn_while_loop():
            program = torch.export.export(net, (x, lengths), dynamic_shapes=_dynamic_shapes())
            torch.export.save(program, str(path))
    except Exception as exc:  # torch raises many types; report one line
        raise ExportError(f"pt2: torch.export failed ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}); leave pt2 out of "
                          "--format") from None


def pt2_min_length(program: torch.export.ExportedProgram) -> int:
    """The shortest sequence length an exported program accepts (its ``x.size(2)`` range)."""
    node = next(n for n in program.graph.nodes if n.op == "placeholder" and n.name == "x")
    size = node.meta["val"].shape[2]
    if isinstance(size, int):
        return size
    return int(program.range_constraints[size.node.expr].lower)


def load_pt2_program(path: Path) -> torch.export.ExportedProgram:
    """The exported program saved at ``path``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.export.load(str(path))


def load_pt2(path: Path) -> torch.nn.Module:
    """The module of a saved ``model.pt2``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_pt2_program(path).module()


def export_onnx(net: ExportedNet, path: Path, length: int, *, qdq: bool = True) -> None:
    """Write ``net`` as ONNX to ``path`` (traced at ``length``); quantized layers as QDQ.

    Raises:
        ExportError: the exporter failed.
    """
    x, lengths = example_inputs(net, length)
    try:
        with _tracing(net, qdq=qdq), _rnn_while_loop():
            program = torch.onnx.export(net, (x, lengths), input_names=["x", "lengths"],
                                        output_names=["logits"], dynamic_shapes=_dynamic_shapes(),
                                        dynamo=True, verbose=False)
            assert program is not None
            program.save(str(path))
        _name_axes(path)
    except Exception as exc:
        raise ExportError(f"onnx: torch.onnx.export failed ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}); leave onnx out of "
                          "--format") from None


def _name_axes(path: Path) -> None:
    """Name the ONNX file's symbolic axes ``batch`` and ``length`` (the exporter calls the
    derived length axis e.g. ``s53``) wherever they appear."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    x_dims = model.graph.input[0].type.tensor_type.shape.dim  # x (B, C, L)
    names = {x_dims[0].dim_param: "batch", x_dims[2].dim_param: "length"}
    names.pop("", None)
    for info in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
        for dim in info.type.tensor_type.shape.dim:
            if dim.dim_param in names:
                dim.dim_param = names[dim.dim_param]
    onnx.save(model, str(path))


def onnx_op_counts(path: Path) -> dict[str, int]:
    """How many nodes of each op type the ONNX graph at ``path`` has."""
    import onnx

    counts: dict[str, int] = {}
    for node in onnx.load(str(path)).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def onnx_session(path: Path, threads: int = 1):  # -> onnxruntime.InferenceSession
    """An onnxruntime CPU session for ``path`` with ``threads`` intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run_onnx(session, x: Tensor, lengths: Tensor) -> Tensor:
    """Logits of an onnxruntime ``session`` for ``x (B, C, L)`` and ``lengths (B,)``."""
    out = session.run(["logits"], {"x": x.detach().cpu().numpy().astype(np.float32),
                                   "lengths": lengths.detach().cpu().numpy().astype(np.int64)})
    return torch.from_numpy(out[0])
