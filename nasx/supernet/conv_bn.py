"""Convolution + BatchNorm + ReLU: the stem and each stage's entry (width change and stride)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from nasx.supernet.kernel_crop import KernelCrop
from nasx.supernet.masking import mask_from_lengths, strided_lengths
from nasx.supernet.norms import BNView, masked_batch_norm
from nasx.supernet.quant import ActQuant, qw


def causal_or_same_conv(x: Tensor, w: Tensor, stride: int, causal: bool, groups: int = 1) -> Tensor:
    """1-D convolution of ``x (B, I, L)`` keeping ``ceil(L / stride)`` steps.

    'same' padding (``k // 2`` each side) or, when ``causal``, ``k - 1`` steps on the left only.
    """
    k = w.shape[-1]
    if causal and k > 1:
        return F.conv1d(F.pad(x, (k - 1, 0)), w, stride=stride, groups=groups)
    return F.conv1d(x, w, stride=stride, padding=k // 2, groups=groups)


def conv_bn_relu_forward(
    x: Tensor,
    lengths: Tensor,
    w: Tensor,
    bn: BNView,
    aq: ActQuant,
    *,
    stride: int,
    causal: bool,
    wbits: int,
    abits: int,
    training: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """``x (B, I, L)`` -> ``(y (B, O, L'), lengths (B,), mask (B, L'))`` with ``L' = ceil(L/s)``."""
    y = causal_or_same_conv(aq(x, abits), qw(w, wbits), stride, causal)  # (B, O, L')
    lengths = strided_lengths(lengths, stride)
    mask = mask_from_lengths(lengths, y.shape[-1])
    y = F.relu(masked_batch_norm(y, mask, bn, training))
    return y * mask.unsqueeze(1), lengths, mask


class ElasticConvBN(nn.Module):
    """Elastic in/out width, kernel (centre crop) and stride; weights shared by all choices."""

    def __init__(
        self,
        in_max: int,
        out_max: int,
        kernels: tuple[int, ...],
        causal: bool,
        kernel_transform: bool = False,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_max, out_max, max(kernels), bias=False)
        self.crop = KernelCrop(kernels, kernel_transform)
        self.bn = nn.BatchNorm1d(out_max)
        self.aq = ActQuant()
        self.causal = causal

    def active_weight(self, cin: int, cout: int, k: int) -> Tensor:
        """``(cout, cin, k)``: first channels, centre-cropped kernel."""
        return self.crop(self.conv.weight[:cout, :cin], k)

    def forward(
        self, x: Tensor, lengths: Tensor, *, cout: int, k: int, stride: int, wbits: int, abits: int
    ) -> tuple[Tensor, Tensor, Tensor]:
        """See :func:`conv_bn_relu_forward`; the input width is ``x``'s channel count."""
        return conv_bn_relu_forward(
            x,
            lengths,
            self.active_weight(x.shape[1], cout, k),
            BNView.of(self.bn, cout),
            self.aq,
            stride=stride,
            causal=self.causal,
            wbits=wbits,
            abits=abits,
            training=self.training,
        )

    def extract(
        self, cin: int, cout: int, k: int, stride: int, wbits: int, abits: int
    ) -> StaticConvBN:
        """A static copy of the active choice."""
        out = StaticConvBN(cin, cout, k, stride, self.causal, wbits, abits)
        out.conv.weight.data.copy_(self.active_weight(cin, cout, k).detach())
        copy_bn(self.bn, out.bn)
        out.aq.load_state_dict(self.aq.state_dict())
        return out


class StaticConvBN(nn.Module):
    """Plain Conv1d + BatchNorm1d + ReLU, with fake quantization where bits < 32."""

    def __init__(
        self, cin: int, cout: int, k: int, stride: int, causal: bool, wbits: int, abits: int
    ) -> None:
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, stride=stride, bias=False)
        self.bn = nn.BatchNorm1d(cout)
        self.aq = ActQuant()
        self.stride, self.causal, self.wbits, self.abits = stride, causal, wbits, abits

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``x (B, I, L)`` -> ``(y (B, O, L'), lengths, mask)``."""
        return conv_bn_relu_forward(
            x,
            lengths,
            self.conv.weight,
            BNView.of(self.bn),
            self.aq,
            stride=self.stride,
            causal=self.causal,
            wbits=self.wbits,
            abits=self.abits,
            training=self.training,
        )


def copy_bn(src: nn.BatchNorm1d, dst: nn.BatchNorm1d) -> None:
    """Copy the first ``dst.num_features`` channels of ``src`` (affine and running stats)."""
    c = dst.num_features
    dst.weight.data.copy_(src.weight.detach()[:c])
    dst.bias.data.copy_(src.bias.detach()[:c])
    dst.running_mean.copy_(src.running_mean[:c])
    dst.running_var.copy_(src.running_var[:c])
    dst.num_batches_tracked.copy_(src.num_batches_tracked)
    dst.momentum = src.momentum
