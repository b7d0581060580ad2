"""MBConv-1D block: pointwise expand, depthwise conv, pointwise project, residual.

Elastic: stage width ``W`` (first channels), hidden width ``round(expand * W)`` (first
channels) and kernel (centre crop of the largest, optional learned transforms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from nasx.ops.conv import ConvSpace
from nasx.ops.layout import inner_width
from nasx.supernet.conv_bn import causal_or_same_conv, copy_bn
from nasx.supernet.kernel_crop import KernelCrop
from nasx.supernet.norms import BNView, masked_batch_norm
from nasx.supernet.quant import ActQuant, qw


@dataclass
class MBConvTensors:
    """The active tensors of an MBConv block.

    ``pw1 (H, W, 1)``, ``dw (H, 1, k)``, ``pw2 (W, H, 1)``, BatchNorms of ``H``, ``H``, ``W``.
    """

    pw1: Tensor
    bn1: BNView
    dw: Tensor
    bn2: BNView
    pw2: Tensor
    bn3: BNView
    aq: tuple[ActQuant, ActQuant, ActQuant]


def mbconv_forward(
    x: Tensor,
    mask: Tensor,
    t: MBConvTensors,
    *,
    causal: bool,
    wbits: int,
    abits: int,
    training: bool,
) -> Tensor:
    """``x (B, W, L)`` masked -> ``x + f(x)``, masked."""
    m = mask.unsqueeze(1)  # (B, 1, L)
    h = F.conv1d(t.aq[0](x, abits), qw(t.pw1, wbits))  # (B, H, L)
    h = F.relu(masked_batch_norm(h, mask, t.bn1, training)) * m
    h = causal_or_same_conv(t.aq[1](h, abits), qw(t.dw, wbits), 1, causal, groups=h.shape[1])
    h = F.relu(masked_batch_norm(h, mask, t.bn2, training)) * m
    h = F.conv1d(t.aq[2](h, abits), qw(t.pw2, wbits))  # (B, W, L)
    return x + masked_batch_norm(h, mask, t.bn3, training) * m


class ElasticMBConv(nn.Module):
    """Weight-sharing MBConv over widths, expand ratios and kernel sizes."""

    def __init__(self, spec: ConvSpace, max_width: int, causal: bool) -> None:
        super().__init__()
        hmax = inner_width(max_width, max(spec.expand))
        self.pw1 = nn.Conv1d(max_width, hmax, 1, bias=False)
        self.bn1 = nn.BatchNorm1d(hmax)
        self.dw = nn.Conv1d(hmax, hmax, max(spec.kernel), groups=hmax, bias=False)
        self.crop = KernelCrop(spec.kernel, spec.kernel_transform)
        self.bn2 = nn.BatchNorm1d(hmax)
        self.pw2 = nn.Conv1d(hmax, max_width, 1, bias=False)
        self.bn3 = nn.BatchNorm1d(max_width)
        self.aq = nn.ModuleList(ActQuant() for _ in range(3))
        self.causal = causal

    def tensors(self, width: int, block: dict[str, Any]) -> MBConvTensors:
        """Slices of the shared weights for stage width ``width`` and block choices ``block``."""
        h = inner_width(width, block["expand"])
        return MBConvTensors(
            pw1=self.pw1.weight[:h, :width],
            bn1=BNView.of(self.bn1, h),
            dw=self.crop(self.dw.weight[:h], block["kernel"]),
            bn2=BNView.of(self.bn2, h),
            pw2=self.pw2.weight[:width, :h],
            bn3=BNView.of(self.bn3, width),
            aq=(self.aq[0], self.aq[1], self.aq[2]),
        )

    def forward(self, x: Tensor, mask: Tensor, width: int, block: dict[str, Any]) -> Tensor:
        """``x (B, width, L)`` -> same shape."""
        return mbconv_forward(
            x,
            mask,
            self.tensors(width, block),
            causal=self.causal,
            wbits=block["wbits"],
            abits=block["abits"],
            training=self.training,
        )

    def extract(self, width: int, block: dict[str, Any]) -> StaticMBConv:
        """A static copy of the active choice."""
        t = self.tensors(width, block)
        out = StaticMBConv(
            width, t.pw1.shape[0], block["kernel"], self.causal, block["wbits"], block["abits"]
        )
        for dst, src in ((out.pw1, t.pw1), (out.dw, t.dw), (out.pw2, t.pw2)):
            dst.weight.data.copy_(src.detach())
        for dst_bn, src_bn in ((out.bn1, self.bn1), (out.bn2, self.bn2), (out.bn3, self.bn3)):
            copy_bn(src_bn, dst_bn)
        out.aq.load_state_dict(self.aq.state_dict())
        return out


class StaticMBConv(nn.Module):
    """MBConv-1D from plain Conv1d / BatchNorm1d layers."""

    def __init__(
        self, width: int, hidden: int, kernel: int, causal: bool, wbits: int, abits: int
    ) -> None:
        super().__init__()
        self.pw1 = nn.Conv1d(width, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.dw = nn.Conv1d(hidden, hidden, kernel, groups=hidden, bias=False)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.pw2 = nn.Conv1d(hidden, width, 1, bias=False)
        self.bn3 = nn.BatchNorm1d(width)
        self.aq = nn.ModuleList(ActQuant() for _ in range(3))
        self.causal, self.wbits, self.abits = causal, wbits, abits

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x (B, W, L)`` -> same shape."""
        t = MBConvTensors(
            self.pw1.weight,
            BNView.of(self.bn1),
            self.dw.weight,
            BNView.of(self.bn2),
            self.pw2.weight,
            BNView.of(self.bn3),
            (self.aq[0], self.aq[1], self.aq[2]),
        )
        return mbconv_forward(
            x,
            mask,
            t,
            causal=self.causal,
            wbits=self.wbits,
            abits=self.abits,
            training=self.training,
        )
