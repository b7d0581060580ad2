"""From an extracted static subnet (:class:`~nasx.supernet.StaticNet`) to an
:class:`~nasx.export.net.ExportedNet`: BatchNorm folding, integer weight codes, fixed
activation ranges.

Folding a BatchNorm with ``g = gamma / sqrt(var + eps)`` into the convolution before it: a
float weight becomes ``w * g`` per output channel; a quantized weight keeps its integer codes
and its per-channel scale absorbs the factor, ``scale' = scale * |g|`` (codes negated where
``g < 0``), so the codes stay those the supernet trained. The bias is ``beta - mean * g``.
Folding is done in float64 and rounded once to float32.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from nasx.errors import NasxError
from nasx.export.blocks import ConvReLU
from nasx.export.layers import DeployActQuant, DeployWeight, Layer
from nasx.export.net import ExportedNet, ExportedStage, ExportSpec
from nasx.export.preprocess import Preprocessing
from nasx.export.quantized import FLOAT_BITS, quantize_weight
from nasx.ops import op_of
from nasx.search_spaces import SearchSpace, entry_kernel
from nasx.supernet import StaticNet
from nasx.supernet.conv_bn import StaticConvBN
from nasx.supernet.quant import ActQuant


class ExportError(NasxError):
    """A subnet that cannot be exported as asked."""


def spec_for(space: SearchSpace, arch: dict[str, Any], in_channels: int,
             num_classes: int, input: Preprocessing | None = None) -> ExportSpec:
    """The :class:`ExportSpec` of canonical ``arch`` of ``space`` (``input``: the run's
    preprocessing; None: the input is used as given)."""
    head_dim = max((getattr(o, "head_dim", 0) for o in space.ops.values()), default=0)
    return ExportSpec(arch=arch, in_channels=in_channels, num_classes=num_classes,
                      causal=space.causal, head_dim=head_dim,
                      entry_kernels=tuple(entry_kernel(st.stride) for st in space.stages),
                      space=space.name, input=input or Preprocessing())


def deploy_act(aq: ActQuant, bits: int, where: str) -> DeployActQuant:
    """The deployed activation quantizer of trained ``aq`` at ``bits`` (``where`` names the
    layer in the error).

    Raises:
        ExportError: a quantized activation whose range was never trained.
    """
    if bits < FLOAT_BITS and not bool(aq.seen):
        raise ExportError(f"cannot export {where}: its {bits}-bit activation quantizer has no "
                          "trained range (training never ran this layer); train the supernet "
                          "longer or pick another subnet")
    return DeployActQuant(bits, aq.amax if bits < FLOAT_BITS else None)


def _weight(w: Tensor, bits: int) -> DeployWeight:
    if bits >= FLOAT_BITS:
        return DeployWeight(bits, value=w.detach().float())
    codes, scale = quantize_weight(w, bits)
    return DeployWeight(bits, codes=codes, scale=scale)


def deploy_linear(layer: nn.Linear | tuple[Tensor, Tensor], wbits: int,
                  act: DeployActQuant) -> Layer:
    """A linear layer (or ``(weight, bias)``) with its weight at ``wbits`` and input ``act``."""
    w, b = (layer.weight, layer.bias) if isinstance(layer, nn.Linear) else layer
    return Layer(_weight(w, wbits), b, act)


def float_act() -> DeployActQuant:
    """An input that stays float (no activation quantizer)."""
    return DeployActQuant(FLOAT_BITS, None)


def fold_conv_bn(w: Tensor, bn: nn.BatchNorm1d, wbits: int, act: DeployActQuant) -> Layer:
    """A bias-free conv ``w (O, I, k)`` followed by eval-mode ``bn`` as one :class:`Layer`."""
    g = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)  # (O,)
    bias = (bn.bias.detach().double() - bn.running_mean.double() * g).float()
    if wbits >= FLOAT_BITS:
        folded = (w.detach().double() * g.view(-1, *([1] * (w.dim() - 1)))).float()
        return Layer(DeployWeight(wbits, value=folded), bias, act)
    codes, scale = quantize_weight(w, wbits)
    sign = torch.where(g < 0, -1, 1).to(codes.dtype)  # (O,)
    codes = codes * sign.view(-1, *([1] * (w.dim() - 1)))
    scale = (scale.double() * g.abs()).float()
    return Layer(DeployWeight(wbits, codes=codes, scale=scale), bias, act)


def _conv_relu(m: StaticConvBN, where: str) -> ConvReLU:
    act = deploy_act(m.aq, m.abits, f"{where} conv")
    layer = fold_conv_bn(m.conv.weight, m.bn, m.wbits, act)
    return ConvReLU(layer, m.stride, m.causal)


@torch.no_grad()
def export_static(static: StaticNet, spec: ExportSpec) -> ExportedNet:
    """The :class:`ExportedNet` of ``static`` (extracted after BatchNorm recalibration).

    Raises:
        ExportError: a quantized activation whose range was never trained.
    """
    if static.training:
        raise ValueError("export an eval-mode static net (BatchNorm statistics must be fixed)")
    stem = _conv_relu(static.stem, "stem")
    stages = []
    for i, stage in enumerate(static.stages):
        entry = _conv_relu(stage.entry, f"stages[{i}].entry")
        blocks = [op_of(b).load("hooks").to_export(b, f"stages[{i}].blocks[{j}]",
                                                    spec.head_dim)
                  for j, b in enumerate(stage.blocks)]
        stages.append(ExportedStage(entry, blocks))
    c = static.classifier
    classifier = Layer(DeployWeight(FLOAT_BITS, value=c.weight), c.bias,
                       DeployActQuant(FLOAT_BITS, None))
    return ExportedNet(spec, stem, stages, classifier)
