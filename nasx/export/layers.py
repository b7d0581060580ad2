"""The deployed form of a weight layer: weight (float or integer codes + scales), bias and the
activation quantizer at its input.

Both quantizers compute, in eager mode and in ``torch.export`` graphs, exactly what the
supernet's fake quantization computes. With ``qdq = True`` (set by the ONNX exporter through
:func:`set_qdq`) they are written as ``quantized_decomposed`` quantize/dequantize ops instead,
which the ONNX exporter turns into ``QuantizeLinear`` / ``DequantizeLinear`` pairs: weights
become int8 initializers with a per-channel ``DequantizeLinear``; activations a ``Clip`` to the
symmetric range followed by ``QuantizeLinear`` and ``DequantizeLinear`` with the trained scale.
QDQ covers bit-widths up to 8 (int8 containers; ONNX opset 18 has no int16 QDQ); wider
quantizers stay float fake-quant arithmetic in every format.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.ao.quantization.fx._decomposed  # registers the quantized_decomposed ops
from torch import Tensor, nn

from nasx.errors import NasxError
from nasx.export.quantized import (
    FLOAT_BITS,
    code_storage,
    dequantize,
    qmax_for,
    stored_codes,
    unpack_int4,
)

_QD = torch.ops.quantized_decomposed
_MIN_SCALE = 1e-8
QDQ_MAX_BITS = 8


class ExportFileError(NasxError):
    """An exported model folder whose files are missing, corrupt or inconsistent."""


class DeployActQuant(nn.Module):
    """Per-tensor symmetric activation quantization with the trained range ``amax`` (fixed)."""

    def __init__(self, bits: int, amax: Tensor | None) -> None:
        super().__init__()
        self.bits, self.qdq = bits, False
        if bits >= FLOAT_BITS:
            self.scale_value = 0.0
            return
        if amax is None:
            raise ValueError("a quantized activation needs its range amax")
        self.qmax = qmax_for(bits)
        scale = (amax.detach().reshape(()).float() / self.qmax).clamp_min(_MIN_SCALE)
        self.register_buffer("amax", amax.detach().reshape(()).float().clone())
        self.register_buffer("scale", scale)  # 0-d, as the supernet computes it
        self.scale_value = float(scale)  # a Python float for the QDQ ops

    def forward(self, x: Tensor) -> Tensor:
        """``x`` quantized to ``bits`` and back (unchanged for 32 bits)."""
        return self.quantize(x)

    def quantize(self, x: Tensor) -> Tensor:
        """What ``forward`` computes, as a plain method (no module-call overhead)."""
        if self.bits >= FLOAT_BITS:
            return x
        if self.qdq and self.bits <= QDQ_MAX_BITS:
            s, qmax = self.scale_value, self.qmax
            x = torch.clamp(x, -qmax * s, qmax * s)  # symmetric range: int8 alone allows -128
            q = _QD.quantize_per_tensor(x, s, 0, -128, 127, torch.int8)
            return _QD.dequantize_per_tensor(q, s, 0, -128, 127, torch.int8)
        return torch.clamp(torch.round(x / self.scale), -self.qmax, self.qmax) * self.scale


class DeployWeight(nn.Module):
    """A weight as deployed: float32 ``value``, or integer ``codes`` with per-row ``scale``.

    ``forward()`` returns the float weight the layer computes with (``codes * scale``,
    precomputed), or, in QDQ mode, a per-channel dequantize op over the int8 codes.
    """

    def __init__(self, bits: int, value: Tensor | None = None, codes: Tensor | None = None,
                 scale: Tensor | None = None) -> None:
        super().__init__()
        self.bits, self.qdq = bits, False
        if bits >= FLOAT_BITS:
            if value is None:
                raise ValueError("a float weight needs its value")
            self.register_buffer("value", value.detach().float().contiguous())
            return
        if codes is None or scale is None:
            raise ValueError("a quantized weight needs codes and scales")
        self.qmax = qmax_for(bits)
        self.register_buffer("codes", codes.contiguous())
        self.register_buffer("scale", scale.detach().float().contiguous())
        self.register_buffer("value", dequantize(codes, scale), persistent=False)

    @property
    def shape(self) -> torch.Size:
        """The weight's shape."""
        return self.value.shape

    def forward(self) -> Tensor:
        """The float weight (see the class docstring)."""
        return self.get()

    def get(self) -> Tensor:
        """What ``forward`` returns, as a plain method (no module-call overhead)."""
        if self.qdq and self.bits <= QDQ_MAX_BITS:
            return _QD.dequantize_per_channel(self.codes.to(torch.int8), self.scale, None, 0,
                                              -self.qmax, self.qmax, torch.int8)
        return self.value


class Layer(nn.Module):
    """One weight layer: ``weight`` (:class:`DeployWeight`), ``bias`` and the quantizer ``act``
    applied to its input."""

    def __init__(self, weight: DeployWeight, bias: Tensor | None, act: DeployActQuant) -> None:
        super().__init__()
        self.weight = weight
        self.act = act
        if bias is not None:
            self.register_buffer("bias", bias.detach().float().contiguous())
        else:
            self.bias = None

    def w(self) -> Tensor:
        """The weight to compute with (see :class:`DeployWeight`)."""
        return self.weight.get()

    def a(self, x: Tensor) -> Tensor:
        """The layer's input ``x`` through its activation quantizer."""
        return self.act.quantize(x)


def set_qdq(module: nn.Module, on: bool) -> None:
    """Switch every quantizer in ``module`` to QDQ ops (``on``) or back to float arithmetic."""
    for m in module.modules():
        if isinstance(m, DeployActQuant | DeployWeight):
            m.qdq = on


def layer_tensors(prefix: str, layer: Layer) -> dict[str, Tensor]:
    """The file tensors of ``layer`` under ``prefix`` (naming: see :func:`read_layer`)."""
    out: dict[str, Tensor] = {}
    w = layer.weight
    if w.bits >= FLOAT_BITS:
        out[f"{prefix}.weight"] = w.value.contiguous()
    else:
        out[f"{prefix}.weight_{code_storage(w.bits)}"] = stored_codes(w.codes, w.bits)
        out[f"{prefix}.weight_scale"] = w.scale.contiguous()
    if layer.bias is not None:
        out[f"{prefix}.bias"] = layer.bias.contiguous()
    if layer.act.bits < FLOAT_BITS:
        out[f"{prefix}.act_amax"] = layer.act.amax.clone()
    return out


class TensorReader:
    """Named tensors of a ``model.safetensors`` file with shape checks that name the file."""

    def __init__(self, tensors: Mapping[str, Tensor], source: str) -> None:
        self.tensors, self.source = tensors, source
        self.used: set[str] = set()

    def get(self, name: str, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> Tensor:
        """The tensor ``name``, checked to have ``shape`` and ``dtype``."""
        t = self.tensors.get(name)
        if t is None:
            raise ExportFileError(f"{self.source}: tensor {name!r} is missing; the file does not "
                                  "belong to this arch.json: export the subnet again")
        if tuple(t.shape) != tuple(shape) or t.dtype != dtype:
            raise ExportFileError(
                f"{self.source}: tensor {name!r} has shape {tuple(t.shape)} {t.dtype}, expected "
                f"{tuple(shape)} {dtype}; the file does not belong to this arch.json")
        self.used.add(name)
        return t

    def check_all_used(self) -> None:
        """Refuse tensors the arch does not explain (a file of another subnet)."""
        extra = sorted(set(self.tensors) - self.used)
        if extra:
            raise ExportFileError(f"{self.source}: unexpected tensor {extra[0]!r} (and "
                                  f"{len(extra) - 1} more); the file does not belong to this "
                                  "arch.json: export the subnet again")


def read_layer(r: TensorReader, prefix: str, shape: tuple[int, ...], wbits: int,
               abits: int | None, bias: bool = True) -> Layer:
    """Rebuild a :class:`Layer` from its file tensors.

    Names: ``<prefix>.weight`` (float32) or ``<prefix>.weight_{i4x2|i8|i16}`` +
    ``<prefix>.weight_scale`` ``(O,)``; ``<prefix>.bias`` ``(O,)``; ``<prefix>.act_amax`` (0-d)
    when the input is quantized (``abits < 32``; ``None`` means no input quantizer).
    """
    if wbits >= FLOAT_BITS:
        weight = DeployWeight(wbits, value=r.get(f"{prefix}.weight", shape))
    else:
        kind = code_storage(wbits)
        numel = int(torch.tensor(shape).prod())
        if kind == "i4x2":
            packed = r.get(f"{prefix}.weight_i4x2", ((numel + 1) // 2,), torch.uint8)
            codes = unpack_int4(packed, numel).reshape(shape)
        else:
            codes = r.get(f"{prefix}.weight_{kind}", shape,
                          torch.int8 if kind == "i8" else torch.int16)
        qmax = qmax_for(wbits)
        if codes.numel() and int(codes.abs().max()) > qmax:
            raise ExportFileError(f"{r.source}: codes of {prefix!r} exceed +-{qmax} for "
                                  f"{wbits}-bit weights; the file is corrupt: export again")
        weight = DeployWeight(wbits, codes=codes, scale=r.get(f"{prefix}.weight_scale",
                                                              (shape[0],)))
    b = r.get(f"{prefix}.bias", (shape[0],)) if bias else None
    bits = FLOAT_BITS if abits is None else abits
    amax = r.get(f"{prefix}.act_amax", ()) if bits < FLOAT_BITS else None
    return Layer(weight, b, DeployActQuant(bits, amax))
