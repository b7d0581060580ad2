"""The extracted subnet: a static ``nn.Module`` of plain torch layers, no supernet needed."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from nasx.supernet.conv_bn import StaticConvBN
from nasx.supernet.masking import mask_from_lengths, masked_mean


class StaticStage(nn.Module):
    """A stage of the static net: the entry convolution, then its blocks."""

    def __init__(self, entry: StaticConvBN, blocks: list[nn.Module]) -> None:
        super().__init__()
        self.entry = entry
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, W_in, L)`` -> ``(x (B, W, L'), lengths (B,))``."""
        x, lengths, mask = self.entry(x, lengths)
        for block in self.blocks:
            x = block(x, mask)
        return x, lengths


class StaticNet(nn.Module):
    """A subnet with fixed choices; ``forward(x (B, C, L), lengths (B,) | None) -> (B, classes)``.

    ``arch`` is the canonical arch it was extracted for (kept for export and reporting).
    """

    def __init__(
        self,
        arch: dict[str, Any],
        stem: StaticConvBN,
        stages: list[StaticStage],
        classifier: nn.Linear,
        dropout: float,
    ) -> None:
        super().__init__()
        self.arch = arch
        self.stem = stem
        self.stages = nn.ModuleList(stages)
        self.dropout = nn.Dropout(dropout)
        self.classifier = classifier

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Logits ``(B, classes)`` of a zero-padded batch ``x (B, C, L)`` with valid ``lengths``."""
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[-1], dtype=torch.long, device=x.device)
        x = x * mask_from_lengths(lengths, x.shape[-1]).unsqueeze(1)
        x, lengths, _ = self.stem(x, lengths)
        for stage in self.stages:
            x, lengths = stage(x, lengths)
        return self.classifier(self.dropout(masked_mean(x, lengths)))
