"""Integer weight codes as deployed: quantization, storage dtypes and 4-bit packing.

A weight with ``wbits < 32`` is stored as integer codes ``q`` and one float32 scale per output
row, ``w = q * scale``, with ``q = clamp(round(w / s), -qmax, qmax)`` and ``s = max|w_row| /
qmax`` exactly as the supernet's fake quantization computes them (so the codes reproduce its
weights bit for bit). Storage by bit-width:

- 2..4 bits: two codes per byte (``uint8``), low nibble first, each a 4-bit two's complement
  number; an odd count is padded with a zero nibble;
- 5..8 bits: ``int8``;
- 9..16 bits: ``int16``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nasx.kernels.fake_quant import FLOAT_BITS, qmax_for, weight_scales

__all__ = [
    "FLOAT_BITS",
    "code_storage",
    "dequantize",
    "pack_int4",
    "qmax_for",
    "quantize_weight",
    "stored_codes",
    "unpack_int4",
]


def code_storage(bits: int) -> str:
    """How codes of ``bits`` are stored: ``i4x2`` (packed), ``i8`` or ``i16``."""
    if not 2 <= bits <= 16:
        raise ValueError(f"weight bits must be in 2..16 (or 32 for float), got {bits}")
    return "i4x2" if bits <= 4 else "i8" if bits <= 8 else "i16"


def quantize_weight(w: Tensor, bits: int) -> tuple[Tensor, Tensor]:
    """Integer codes and per-row scales of ``w (O, ...)`` for symmetric ``bits``-bit weights.

    Returns:
        ``(codes, scale)``: codes of ``w``'s shape (``int8``, or ``int16`` above 8 bits) and
        ``scale (O,)`` float32, with ``codes * scale`` equal to the fake-quantized ``w``.
    """
    qmax = qmax_for(bits)
    w = w.detach().float()
    scale = weight_scales(w, bits)  # (O,)
    codes = torch.clamp(torch.round(w / scale.reshape(-1, *([1] * (w.dim() - 1)))), -qmax, qmax)
    return codes.to(torch.int16 if bits > 8 else torch.int8), scale


def dequantize(codes: Tensor, scale: Tensor) -> Tensor:
    """``codes (O, ...) * scale (O,)`` as float32 (the same product fake quantization forms)."""
    return codes.float() * scale.reshape(-1, *([1] * (codes.dim() - 1)))


def pack_int4(codes: Tensor) -> Tensor:
    """Pack signed codes in ``[-8, 7]`` two per byte: ``(numel,)`` -> ``(ceil(numel / 2),)``
    ``uint8``, element ``2i`` in the low nibble and ``2i + 1`` in the high nibble."""
    flat = codes.reshape(-1).to(torch.int16)
    if flat.numel() and (flat.min() < -8 or flat.max() > 7):
        raise ValueError("4-bit codes must lie in [-8, 7]")
    if flat.numel() % 2:
        flat = torch.cat([flat, flat.new_zeros(1)])
    nib = (flat & 0xF).to(torch.uint8).reshape(-1, 2)  # two's complement nibbles
    return nib[:, 0] | (nib[:, 1] << 4)


def unpack_int4(packed: Tensor, numel: int) -> Tensor:
    """Inverse of :func:`pack_int4`: ``(ceil(numel / 2),)`` ``uint8`` -> ``(numel,)`` ``int8``."""
    if packed.dtype != torch.uint8 or packed.dim() != 1 or packed.numel() != (numel + 1) // 2:
        raise ValueError(f"expected {(numel + 1) // 2} packed uint8 bytes for {numel} codes, got "
                         f"{tuple(packed.shape)} {packed.dtype}")
    p = packed.to(torch.int16)
    nib = torch.stack([p & 0xF, p >> 4], dim=1).reshape(-1)[:numel]  # (numel,) in 0..15
    return torch.where(nib >= 8, nib - 16, nib).to(torch.int8)


def stored_codes(codes: Tensor, bits: int) -> Tensor:
    """The tensor written to the file for ``codes`` of ``bits`` (see the module docstring)."""
    kind = code_storage(bits)
    if kind == "i4x2":
        return pack_int4(codes)
    return codes.to(torch.int8 if kind == "i8" else torch.int16).contiguous()
