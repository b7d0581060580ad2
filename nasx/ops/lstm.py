"""The ``lstm`` op: LayerNorm, unidirectional LSTM (torch's fused kernel, hidden = ratio x
stage width, gates sliced per segment), linear projection, residual.

Supernet block :class:`~nasx.supernet.lstm_block.ElasticLSTM`, export block
:class:`~nasx.export.blocks.LSTMBlock`, schedule :func:`~nasx.ops.recurrent_steps.lstm_steps`,
C emitters :mod:`nasx.export.mcu.op_lstm`; its streaming step, ONNX step graph and C header
rows are here (torch imported inside the functions, as in :mod:`nasx.ops.conv`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from nasx.ops.base import BlockBits, LatencyWork, OpDef
from nasx.ops.recurrent import (
    HiddenSpace,
    hidden_unit,
    recurrent_c_rows,
    recurrent_c_words,
    recurrent_export,
)

NAME = "lstm"


class LSTMBlock(BlockBits):
    """An ``lstm`` block of an arch: hidden size as a ratio of the stage width."""

    op: Literal["lstm"]
    hidden: float


class LSTMSpace(HiddenSpace):
    """Unidirectional LSTM; hidden size = ratio x stage width."""


def _latency(c: tuple[Any, ...], length: int) -> LatencyWork:
    w, h = c
    numel = 4 * h * (w + h) + h * w
    return LatencyWork(numel * length, (2 * w + 5 * h) * length, numel, (float(length),))


def _c_words(c: tuple[Any, ...], n: int) -> list[int]:
    """C runtime words: 4 gates, ``h`` and ``c`` (2H) as state."""
    return recurrent_c_words(c, n, 4, 2)


# --- export hooks (``b``: an LSTMBlock) ----------------------------------------------------

def to_export(m: Any, where: str, head_dim: int) -> Any:
    """The export block of extracted ``m`` (``hh`` keeps a float input: the state)."""
    from nasx.export.blocks import LSTMBlock

    return recurrent_export(LSTMBlock, m, m.lstm, where, NAME)


def read(r: Any, prefix: str, width: int, block: LSTMBlock, spec: Any) -> Any:
    """The export block rebuilt from file tensors."""
    from nasx.export.blocks import LSTMBlock

    return LSTMBlock.read(r, prefix, width, dict(block))


def blocker(b: Any) -> str | None:
    """An LSTM is causal: always streamable."""
    return None


def stream_state(b: Any, prefix: str, batch: int, zeros: Callable[..., Any]) -> dict[str, Any]:
    """``h`` and ``c`` ``(1, B, H)``."""
    return {f"{prefix}.h": zeros(1, batch, b.hidden), f"{prefix}.c": zeros(1, batch, b.hidden)}


def stream_step(b: Any, prefix: str, x: Any, st: dict[str, Any]) -> Any:
    """One frame ``x (B, W)`` -> ``(B, W)``; updates ``st``."""
    import torch
    import torch.nn.functional as F

    xt = x.unsqueeze(1)  # (B, 1, W)
    h = b.ih.a(F.layer_norm(xt, (xt.shape[-1],), b.ln_weight, b.ln_bias))
    out, hn, cn = torch.lstm(h, [st[f"{prefix}.h"], st[f"{prefix}.c"]], b.lstm_params(),
                             True, 1, 0.0, False, False, True)  # out (B, 1, H)
    st[f"{prefix}.h"], st[f"{prefix}.c"] = hn, cn
    return x + F.linear(b.proj.a(out[:, 0]), b.proj.w(), b.proj.bias)


def graph_state(b: Any, prefix: str, frames: int) -> list[tuple[str, tuple[int, ...]]]:
    """Fixed-shape state of the ONNX step graph (batch 1)."""
    return [(f"{prefix}.h", (1, 1, b.hidden)), (f"{prefix}.c", (1, 1, b.hidden))]


def graph_step(b: Any, p: str, x: Any, st: dict[str, Any], new: dict[str, Any],
               keep: Callable[[str, Any], None], live: Any) -> Any:
    """One frame of the ONNX step graph (state written through ``keep``)."""
    import torch
    import torch.nn.functional as F

    xt = x.unsqueeze(1)  # (1, 1, W)
    h = b.ih.a(F.layer_norm(xt, (xt.shape[-1],), b.ln_weight, b.ln_bias))
    out, hn, cn = torch.lstm(h, [st[f"{p}.h"], st[f"{p}.c"]], b.lstm_params(), True, 1,
                             0.0, False, False, True)
    keep(f"{p}.h", hn)
    keep(f"{p}.c", cn)
    return x + F.linear(b.proj.a(out[:, 0]), b.proj.w(), b.proj.bias)


c_rows = recurrent_c_rows


def c_arrays(b: Any, prefix: str) -> dict[str, Any]:
    """Deployed arrays besides the file tensors: none."""
    return {}


OP = OpDef(
    name=NAME, space_type=LSTMSpace, yaml_keys=("hidden",), choice_keys=("hidden",),
    block_type=LSTMBlock,
    defaults={"hidden": [0.5, 1.0]}, parse=LSTMSpace.parse, unit=hidden_unit,
    latency_work=_latency,
    latency_terms=("steps",), weight_classes=("lstm", "linear"),
    elastic="nasx.supernet.lstm_block:ElasticLSTM",
    static="nasx.supernet.lstm_block:StaticLSTM",
    export="nasx.export.blocks:LSTMBlock",
    steps="nasx.ops.recurrent_steps:lstm_steps",
    c_emit="nasx.export.mcu.op_lstm:emit", c_emit_step="nasx.export.mcu.op_lstm:emit_step",
    hooks=__name__, c_words=_c_words,
)
