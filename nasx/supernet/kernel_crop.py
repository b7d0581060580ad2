"""Elastic kernel size: centre crop of the largest kernel, optionally through learned transforms.

Going from the largest kernel down to the active one, the weight is cropped to every smaller
kernel size of the space in turn; with transforms on, each crop is followed by a small learned
``(k, k)`` matrix (initialised to the identity) shared by all channels, as in Once-for-All.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class KernelCrop(nn.Module):
    """Maps a ``(O, I, Kmax)`` conv weight to its active ``(O, I, k)`` kernel."""

    def __init__(self, kernels: tuple[int, ...], transform: bool) -> None:
        super().__init__()
        self.kernels = tuple(sorted(kernels))
        self.transforms = nn.ParameterDict(
            {str(k): nn.Parameter(torch.eye(k)) for k in self.kernels[:-1]} if transform else {}
        )

    def forward(self, weight: Tensor, k: int) -> Tensor:
        """The active kernel of size ``k`` from the full ``weight (O, I, Kmax)``."""
        cur = weight.shape[-1]
        w = weight
        for size in reversed(self.kernels):
            if size >= cur or size < k:
                continue
            start = (cur - size) // 2
            w = w[..., start : start + size]
            if self.transforms:
                w = w @ self.transforms[str(size)]  # (O, I, size) @ (size, size)
            cur = size
        return w
