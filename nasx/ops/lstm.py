"""The ``lstm`` op: LayerNorm, unidirectional LSTM (torch's fused kernel, hidden = ratio x
stage width, gates sliced per segment), linear projection, residual.

Supernet block :class:`~nasx.supernet.lstm_block.ElasticLSTM`, export block
:class:`~nasx.export.blocks.LSTMBlock`, schedule :func:`~nasx.ops.lstm_steps.lstm_steps`,
C emitters :mod:`nasx.export.mcu.op_lstm`; its streaming step, ONNX step graph and C header
rows are here (torch imported inside the functions, as in :mod:`nasx.ops.conv`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from nasx.ops.base import BlockBits, ChoiceChecker, LatencyWork, Number, OpDef
from nasx.ops.layout import inner_width
from nasx.ops.runtime_words import scratch_words, words

NAME = "lstm"


class LSTMBlock(BlockBits):
    """An ``lstm`` block of an arch: hidden size as a ratio of the stage width."""

    op: Literal["lstm"]
    hidden: float


@dataclass(frozen=True)
class LSTMSpace:
    """Unidirectional LSTM; hidden size = ratio x stage width."""

    hidden: tuple[Number, ...]


def _parse(c: ChoiceChecker, raw: Mapping[str, Any], key: str) -> LSTMSpace:
    return LSTMSpace(hidden=c.ratios(raw["hidden"], f"{key}.hidden"))


def _unit(spec: LSTMSpace, width: int, b: LSTMBlock) -> tuple[Any, ...]:
    return (width, inner_width(width, b["hidden"]))


def _latency(c: tuple[Any, ...], length: int) -> LatencyWork:
    w, h = c
    numel = 4 * h * (w + h) + h * w
    return LatencyWork(numel * length, (2 * w + 5 * h) * length, numel, (float(length),))


def _c_words(c: tuple[Any, ...], n: int) -> list[int]:
    """C runtime words: ``cur + t1``, ``t1 + gates (4LH) + scr(LW) + cur``, ``gates + out (LH)
    + hc (2H) + cur``, ``out + cur + scr(LH)``."""
    w, h, wb, ab = c
    cur, t1, gates, out = words(n * w), words(n * w), words(4 * n * h), words(n * h)
    return [cur + t1, t1 + gates + scratch_words(wb, ab, n * w) + cur,
            gates + out + words(2 * h) + cur, out + cur + scratch_words(wb, ab, n * h)]


# --- export hooks (``b``: an LSTMBlock) ----------------------------------------------------

def to_export(m: Any, where: str, head_dim: int) -> Any:
    """The export block of extracted ``m`` (``hh`` keeps a float input: the state)."""
    from nasx.export.blocks import LSTMBlock
    from nasx.export.convert import deploy_act, deploy_linear, float_act

    wb, ab, lstm = m.wbits, m.abits, m.lstm
    return LSTMBlock(
        m.ln.weight, m.ln.bias,
        deploy_linear((lstm.weight_ih_l0, lstm.bias_ih_l0), wb,
                      deploy_act(m.aq[0], ab, f"{where} (lstm) input")),
        deploy_linear((lstm.weight_hh_l0, lstm.bias_hh_l0), wb, float_act()),
        deploy_linear(m.proj, wb, deploy_act(m.aq[1], ab, f"{where} (lstm) proj")))


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


def c_rows(wr: Any, p: str, b: Any) -> None:
    """Its rows (and arrays) of the C layer table."""
    wr.norm(f"{p}.ln", b.ln_weight, b.ln_bias)
    wr.layer(f"{p}.ih", b.ih, "NASX_LSTM_INPUT", ())
    wr.layer(f"{p}.hh", b.hh, "NASX_LSTM_RECURRENT", ())
    wr.layer(f"{p}.proj", b.proj, "NASX_LINEAR", ["NASX_RESIDUAL"])


def c_arrays(b: Any, prefix: str) -> dict[str, Any]:
    """Deployed arrays besides the file tensors: none."""
    return {}


OP = OpDef(
    name=NAME, space_type=LSTMSpace, yaml_keys=("hidden",), choice_keys=("hidden",),
    block_type=LSTMBlock,
    defaults={"hidden": [0.5, 1.0]}, parse=_parse, unit=_unit, latency_work=_latency,
    latency_terms=("steps",), weight_classes=("lstm", "linear"),
    elastic="nasx.supernet.lstm_block:ElasticLSTM",
    static="nasx.supernet.lstm_block:StaticLSTM",
    export="nasx.export.blocks:LSTMBlock",
    steps="nasx.ops.lstm_steps:lstm_steps",
    c_emit="nasx.export.mcu.op_lstm:emit", c_emit_step="nasx.export.mcu.op_lstm:emit_step",
    hooks=__name__, c_words=_c_words,
)
