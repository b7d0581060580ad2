"""The ``gru`` op: LayerNorm, unidirectional GRU (hidden = ratio x stage width; torch's fused
GRU with its gate matrices sliced per gate, as the LSTM), linear projection, residual.

Its modules are in :mod:`nasx.ops.gru_blocks`, its schedule in :mod:`nasx.ops.recurrent_steps`; its
streaming step, ONNX step graph and export hooks are here (torch imported inside the functions,
as in :mod:`nasx.ops.conv`).
C emitters :mod:`nasx.export.mcu.op_gru` (kernel ``runtime/nasx_gru.c``).
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

NAME = "gru"
GATES = 3  # r, z, n: the rows of the fused gate matrices are 3H


class GRUBlock(BlockBits):
    """A ``gru`` block of an arch: hidden size as a ratio of the stage width."""

    op: Literal["gru"]
    hidden: float


class GRUSpace(HiddenSpace):
    """Unidirectional GRU; hidden size = ratio x stage width."""


def _latency(c: tuple[Any, ...], length: int) -> LatencyWork:
    w, h = c
    numel = 3 * h * (w + h) + h * w
    return LatencyWork(numel * length, (2 * w + 4 * h) * length, numel, (float(length),))


def _c_words(c: tuple[Any, ...], n: int) -> list[int]:
    """C runtime words: 3 gates, ``h`` and the recurrent gate scratch ``gh`` (4H) as state."""
    return recurrent_c_words(c, n, GATES, 1 + GATES)


# --- export hooks (``b``: a GRUBlock) ------------------------------------------------------

def to_export(m: Any, where: str, head_dim: int) -> Any:
    """The export block of extracted ``m`` (``hh`` keeps a float input: the state)."""
    from nasx.ops.gru_blocks import GRUBlock

    return recurrent_export(GRUBlock, m, m.gru, where, NAME)


def read(r: Any, prefix: str, width: int, block: GRUBlock, spec: Any) -> Any:
    """The export block rebuilt from file tensors."""
    from nasx.ops.gru_blocks import GRUBlock

    return GRUBlock.read(r, prefix, width, dict(block))


def blocker(b: Any) -> str | None:
    """A GRU is causal: always streamable."""
    return None


def stream_state(b: Any, prefix: str, batch: int, zeros: Callable[..., Any]) -> dict[str, Any]:
    """``h (1, B, H)``."""
    return {f"{prefix}.h": zeros(1, batch, b.hidden)}


def _step(b: Any, x: Any, h0: Any) -> tuple[Any, Any]:
    import torch.nn.functional as F

    xt = x.unsqueeze(1)  # (B, 1, W)
    h = b.ih.a(F.layer_norm(xt, (xt.shape[-1],), b.ln_weight, b.ln_bias))
    out, hn = b.run(h, h0)  # out (B, 1, H)
    return x + F.linear(b.proj.a(out[:, 0]), b.proj.w(), b.proj.bias), hn


def stream_step(b: Any, prefix: str, x: Any, st: dict[str, Any]) -> Any:
    """One frame ``x (B, W)`` -> ``(B, W)``; updates ``st``."""
    y, st[f"{prefix}.h"] = _step(b, x, st[f"{prefix}.h"])
    return y


def graph_state(b: Any, prefix: str, frames: int) -> list[tuple[str, tuple[int, ...]]]:
    """Fixed-shape state of the ONNX step graph (batch 1)."""
    return [(f"{prefix}.h", (1, 1, b.hidden))]


def graph_step(b: Any, p: str, x: Any, st: dict[str, Any], new: dict[str, Any],
               keep: Callable[[str, Any], None], live: Any) -> Any:
    """One frame of the ONNX step graph (state written through ``keep``)."""
    y, hn = _step(b, x, st[f"{p}.h"])
    keep(f"{p}.h", hn)
    return y


c_rows = recurrent_c_rows  # the LSTM's layer kinds, ``out = 3 x in``


def c_arrays(b: Any, prefix: str) -> dict[str, Any]:
    """Deployed arrays besides the file tensors: none."""
    return {}


OP = OpDef(
    name=NAME, space_type=GRUSpace, yaml_keys=("hidden",), choice_keys=("hidden",),
    block_type=GRUBlock,
    defaults={"hidden": [0.5, 1.0]}, parse=GRUSpace.parse, unit=hidden_unit,
    latency_work=_latency,
    latency_terms=("steps",), weight_classes=("lstm", "linear"),
    elastic="nasx.ops.gru_blocks:ElasticGRU",
    static="nasx.ops.gru_blocks:StaticGRU",
    export="nasx.ops.gru_blocks:GRUBlock",
    steps="nasx.ops.recurrent_steps:gru_steps",
    c_emit="nasx.export.mcu.op_gru:emit", c_emit_step="nasx.export.mcu.op_gru:emit_step",
    hooks=__name__, c_words=_c_words,
)
