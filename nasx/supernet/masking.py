"""Variable-length helpers: masks from lengths, lengths after a stride, masked pooling.

Tensors between blocks are ``(B, C, L)`` with every padded position exactly zero; each block
re-applies the mask to its output so padding never leaks into a valid position.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nasx.data.masks import mask_from_lengths

__all__ = ["mask_from_lengths", "masked_mean", "strided_lengths"]


def strided_lengths(lengths: Tensor, stride: int) -> Tensor:
    """Valid lengths after a stride-``stride`` convolution with 'same' or causal padding."""
    return (
        lengths if stride == 1 else torch.div(lengths + stride - 1, stride, rounding_mode="floor")
    )


def masked_mean(x: Tensor, lengths: Tensor) -> Tensor:
    """Mean over valid steps of a masked ``(B, C, L)`` tensor -> ``(B, C)``."""
    return x.sum(dim=-1) / lengths.unsqueeze(1).to(x.dtype)
