"""Padding masks from sequence lengths."""

from __future__ import annotations

import torch
from torch import Tensor


def mask_from_lengths(lengths: Tensor, length: int) -> Tensor:
    """Return a ``(B, length)`` bool mask that is True at valid (unpadded) time steps.

    Args:
        lengths: ``(B,)`` integer lengths; step ``t`` of row ``b`` is valid when
            ``t < lengths[b]``.
        length: the padded length ``L`` of the batch.

    Example:
        >>> mask_from_lengths(torch.tensor([1, 3]), 3)
        tensor([[ True, False, False],
                [ True,  True,  True]])
    """
    steps = torch.arange(length, device=lengths.device)  # (L,)
    return steps[None, :] < lengths[:, None]  # (B, L)
