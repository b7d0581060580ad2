"""The ``conv`` op: MBConv-1D (pointwise expand, depthwise conv with an elastic kernel,
pointwise project, residual; BatchNorm folded at export).

Supernet block :class:`~nasx.supernet.conv_block.ElasticMBConv`, export block
:class:`~nasx.export.blocks.MBConvBlock`, schedule
:func:`~nasx.ops.conv_steps.mbconv_steps`,
C emitters :mod:`nasx.export.mcu.op_conv`; its streaming step, ONNX step graph and C header
rows are here. Torch is imported inside the functions: this module is read with the search
space, which must stay importable without torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from nasx.ops.base import BlockBits, ChoiceChecker, LatencyWork, Number, OpDef
from nasx.ops.layout import inner_width
from nasx.ops.runtime_words import int8_words, int_path, scratch_words, words

NAME = "conv"


class ConvBlock(BlockBits):
    """A ``conv`` block of an arch: depthwise kernel and expand ratio."""

    op: Literal["conv"]
    kernel: int
    expand: float


@dataclass(frozen=True)
class ConvSpace:
    """MBConv-1D: pointwise expand, depthwise conv (elastic kernel), pointwise project."""

    kernel: tuple[int, ...]
    expand: tuple[Number, ...]
    kernel_transform: bool = False


def _parse(c: ChoiceChecker, raw: Mapping[str, Any], key: str) -> ConvSpace:
    return ConvSpace(kernel=c.odd(raw["kernel"], f"{key}.kernel"),
                     expand=c.ratios(raw["expand"], f"{key}.expand"),
                     kernel_transform=c.boolean(raw["kernel_transform"], f"{key}.kernel_transform"))


def _unit(spec: ConvSpace, width: int, b: ConvBlock) -> tuple[Any, ...]:
    return (width, inner_width(width, b["expand"]), b["kernel"])


def _latency(c: tuple[Any, ...], length: int) -> LatencyWork:
    w, h, k = c
    numel = 2 * w * h + h * k
    return LatencyWork(numel * length, (2 * w + 2 * h) * length, numel)


def _c_words(c: tuple[Any, ...], n: int) -> list[int]:
    """C runtime words: int ``cur + q``, ``q + q1 + cur``, ``q1 + q2 + cur``, ``q2 + cur``;
    float ``cur + t1 + scr(LW)``, ``t1 + t2 + scr(LH) + cur``, ``t2 + cur + scr(LH)``."""
    w, hidden, _, wb, ab = c
    cur = words(n * w)
    if int_path(wb, ab):
        q, q1 = int8_words(n * w), int8_words(n * hidden)
        return [cur + q, q + q1 + cur, 2 * q1 + cur, q1 + cur]
    t = words(n * hidden)
    return [cur + t + scratch_words(wb, ab, n * w), 2 * t + scratch_words(wb, ab, n * hidden)
            + cur, t + cur + scratch_words(wb, ab, n * hidden)]


# --- export hooks (``b``: an MBConvBlock) ---------------------------------------------------

def to_export(m: Any, where: str, head_dim: int) -> Any:
    """The export block of extracted ``m`` (BatchNorm folded into each conv)."""
    from nasx.export.blocks import MBConvBlock
    from nasx.export.convert import deploy_act, fold_conv_bn

    wb, ab = m.wbits, m.abits
    return MBConvBlock(
        fold_conv_bn(m.pw1.weight, m.bn1, wb, deploy_act(m.aq[0], ab, f"{where} (conv) pw1")),
        fold_conv_bn(m.dw.weight, m.bn2, wb, deploy_act(m.aq[1], ab, f"{where} (conv) dw")),
        fold_conv_bn(m.pw2.weight, m.bn3, wb, deploy_act(m.aq[2], ab, f"{where} (conv) pw2")),
        m.causal)


def read(r: Any, prefix: str, width: int, block: ConvBlock, spec: Any) -> Any:
    """The export block rebuilt from file tensors."""
    from nasx.export.blocks import MBConvBlock

    return MBConvBlock.read(r, prefix, width, dict(block), spec.causal)


def blocker(b: Any) -> str | None:
    """Why ``b`` cannot stream (a 'same'-padded depthwise kernel > 1), else None."""
    k = b.dw.weight.shape[-1]
    return None if b.causal or k <= 1 else f"is not causal ('same' padding, kernel {k})"


def stream_state(b: Any, prefix: str, batch: int, zeros: Callable[..., Any]) -> dict[str, Any]:
    """The depthwise conv's window of its last ``k - 1`` expanded frames."""
    h, k = b.dw.weight.shape[0], b.dw.weight.shape[-1]
    return {f"{prefix}.buf": zeros(batch, h, k - 1)}


def stream_step(b: Any, prefix: str, x: Any, st: dict[str, Any]) -> Any:
    """One frame ``x (B, W)`` -> ``(B, W)``; updates ``st``."""
    import torch
    import torch.nn.functional as F

    h = F.relu(F.conv1d(b.pw1.a(x.unsqueeze(-1)), b.pw1.w(), b.pw1.bias))  # (B, H, 1)
    window = torch.cat([st[f"{prefix}.buf"], h], dim=-1)  # (B, H, k)
    st[f"{prefix}.buf"] = window[:, :, 1:]
    h = F.relu(F.conv1d(b.dw.a(window), b.dw.w(), b.dw.bias, groups=h.shape[1]))
    return x + F.conv1d(b.pw2.a(h), b.pw2.w(), b.pw2.bias).squeeze(-1)


def graph_state(b: Any, prefix: str, frames: int) -> list[tuple[str, tuple[int, ...]]]:
    """Fixed-shape state of the ONNX step graph (batch 1)."""
    return [(f"{prefix}.window", (1, b.dw.weight.shape[0], b.dw.weight.shape[-1] - 1))]


def graph_step(b: Any, p: str, x: Any, st: dict[str, Any], new: dict[str, Any],
               keep: Callable[[str, Any], None], live: Any) -> Any:
    """One frame of the ONNX step graph (state written through ``keep``)."""
    import torch
    import torch.nn.functional as F

    h = F.relu(F.conv1d(b.pw1.a(x.unsqueeze(-1)), b.pw1.w(), b.pw1.bias))  # (1, H, 1)
    window = torch.cat([st[f"{p}.window"], h], dim=-1)  # (1, H, k)
    keep(f"{p}.window", window[:, :, 1:])
    h = F.relu(F.conv1d(b.dw.a(window), b.dw.w(), b.dw.bias, groups=h.shape[1]))
    return x + F.conv1d(b.pw2.a(h), b.pw2.w(), b.pw2.bias).squeeze(-1)


def c_rows(wr: Any, p: str, b: Any) -> None:
    """Its rows (and arrays) of the C layer table."""
    causal = ["NASX_CAUSAL"] if b.causal else []
    wr.layer(f"{p}.pw1", b.pw1, "NASX_CONV", ["NASX_RELU"])
    wr.layer(f"{p}.dw", b.dw, "NASX_CONV", ["NASX_RELU", *causal], groups=b.dw.weight.shape[0])
    wr.layer(f"{p}.pw2", b.pw2, "NASX_CONV", ["NASX_RESIDUAL"])


def c_arrays(b: Any, prefix: str) -> dict[str, Any]:
    """Deployed arrays besides the file tensors: none."""
    return {}


OP = OpDef(
    name=NAME, block_type=ConvBlock, space_type=ConvSpace,
    yaml_keys=("kernel", "expand", "kernel_transform"), choice_keys=("kernel", "expand"),
    kernel_keys=("kernel",),
    defaults={"kernel": [3, 5, 7], "expand": [2, 4], "kernel_transform": False},
    parse=_parse, unit=_unit, latency_work=_latency, weight_classes=("conv", "dwconv"),
    local=True, c_words=_c_words,
    elastic="nasx.supernet.conv_block:ElasticMBConv",
    static="nasx.supernet.conv_block:StaticMBConv",
    export="nasx.export.blocks:MBConvBlock",
    steps="nasx.ops.conv_steps:mbconv_steps",
    c_emit="nasx.export.mcu.op_conv:emit", c_emit_step="nasx.export.mcu.op_conv:emit_step",
    hooks=__name__,
)
