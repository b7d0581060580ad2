"""The ``gru`` op: LayerNorm, unidirectional GRU (hidden = ratio x stage width; torch's fused
GRU with its gate matrices sliced per gate, as the LSTM), linear projection, residual.

Its modules are in :mod:`nasx.ops.gru_blocks`, its schedule in :mod:`nasx.ops.gru_steps`; its
streaming step, ONNX step graph and export hooks are here (torch imported inside the functions,
as in :mod:`nasx.ops.conv`).
C emitters :mod:`nasx.export.mcu.op_gru` (kernel ``runtime/nasx_gru.c``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from nasx.ops.base import BlockBits, ChoiceChecker, LatencyWork, Number, OpDef
from nasx.ops.layout import inner_width
from nasx.ops.runtime_words import scratch_words, words

NAME = "gru"
GATES = 3  # r, z, n: the rows of the fused gate matrices are 3H


class GRUBlock(BlockBits):
    """A ``gru`` block of an arch: hidden size as a ratio of the stage width."""

    op: Literal["gru"]
    hidden: float


@dataclass(frozen=True)
class GRUSpace:
    """Unidirectional GRU; hidden size = ratio x stage width."""

    hidden: tuple[Number, ...]


def _parse(c: ChoiceChecker, raw: Mapping[str, Any], key: str) -> GRUSpace:
    return GRUSpace(hidden=c.ratios(raw["hidden"], f"{key}.hidden"))


def _unit(spec: GRUSpace, width: int, b: GRUBlock) -> tuple[Any, ...]:
    return (width, inner_width(width, b["hidden"]))


def _latency(c: tuple[Any, ...], length: int) -> LatencyWork:
    w, h = c
    numel = 3 * h * (w + h) + h * w
    return LatencyWork(numel * length, (2 * w + 4 * h) * length, numel, (float(length),))


def _c_words(c: tuple[Any, ...], n: int) -> list[int]:
    """C runtime words: ``cur + t1``, ``t1 + gates (3LH) + scr(LW) + cur``, ``gates + out (LH)
    + h, gh (4H) + cur``, ``out + cur + scr(LH)``."""
    w, h, wb, ab = c
    cur, t1, gates, out = words(n * w), words(n * w), words(3 * n * h), words(n * h)
    return [cur + t1, t1 + gates + scratch_words(wb, ab, n * w) + cur,
            gates + out + words(4 * h) + cur, out + cur + scratch_words(wb, ab, n * h)]


# --- export hooks (``b``: a GRUBlock) ------------------------------------------------------

def to_export(m: Any, where: str, head_dim: int) -> Any:
    """The export block of extracted ``m`` (``hh`` keeps a float input: the state)."""
    from nasx.export.convert import deploy_act, deploy_linear, float_act
    from nasx.ops.gru_blocks import GRUBlock

    wb, ab, gru = m.wbits, m.abits, m.gru
    return GRUBlock(
        m.ln.weight, m.ln.bias,
        deploy_linear((gru.weight_ih_l0, gru.bias_ih_l0), wb,
                      deploy_act(m.aq[0], ab, f"{where} (gru) input")),
        deploy_linear((gru.weight_hh_l0, gru.bias_hh_l0), wb, float_act()),
        deploy_linear(m.proj, wb, deploy_act(m.aq[1], ab, f"{where} (gru) proj")))


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


def c_rows(wr: Any, p: str, b: Any) -> None:
    """Its rows of the C layer table (the recurrent kinds are the LSTM's: ``out = 3 x in``)."""
    wr.norm(f"{p}.ln", b.ln_weight, b.ln_bias)
    wr.layer(f"{p}.ih", b.ih, "NASX_LSTM_INPUT", ())
    wr.layer(f"{p}.hh", b.hh, "NASX_LSTM_RECURRENT", ())
    wr.layer(f"{p}.proj", b.proj, "NASX_LINEAR", ["NASX_RESIDUAL"])


def c_arrays(b: Any, prefix: str) -> dict[str, Any]:
    """Deployed arrays besides the file tensors: none."""
    return {}


OP = OpDef(
    name=NAME, space_type=GRUSpace, yaml_keys=("hidden",), choice_keys=("hidden",),
    block_type=GRUBlock,
    defaults={"hidden": [0.5, 1.0]}, parse=_parse, unit=_unit, latency_work=_latency,
    latency_terms=("steps",), weight_classes=("lstm", "linear"),
    elastic="nasx.ops.gru_blocks:ElasticGRU",
    static="nasx.ops.gru_blocks:StaticGRU",
    export="nasx.ops.gru_blocks:GRUBlock",
    steps="nasx.ops.gru_steps:gru_steps",
    c_emit="nasx.export.mcu.op_gru:emit", c_emit_step="nasx.export.mcu.op_gru:emit_step",
    hooks=__name__, c_words=_c_words,
)
