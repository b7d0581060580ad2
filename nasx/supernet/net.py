"""The elastic hybrid supernet (weight sharing across every choice of a search space).

Layout: stem conv -> per stage [entry conv (width change, stride) -> up to max-depth block
slots, each holding one module per allowed op] -> masked mean pool -> linear classifier.
Choose a subnet with :meth:`Supernet.set_active` (or pass ``arch=`` to ``forward``); copy it out
as plain torch layers with :meth:`Supernet.extract`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from nasx.ops import OPS
from nasx.search_spaces import Arch, SearchSpace, canonical_arch, entry_kernel, largest_arch
from nasx.supernet.conv_bn import ElasticConvBN
from nasx.supernet.masking import mask_from_lengths, masked_mean
from nasx.supernet.static_net import StaticNet, StaticStage


class Supernet(nn.Module):
    """Weight-sharing supernet of ``space`` for ``in_channels`` inputs and ``num_classes`` outputs.

    Example:
        >>> import torch
        >>> from nasx.search_spaces import load_space, smallest_arch
        >>> net = Supernet(load_space("tiny"), in_channels=12, num_classes=9).eval()
        >>> x, lengths = torch.randn(2, 12, 20), torch.tensor([20, 7])
        >>> _ = net.set_active(smallest_arch(net.space))
        >>> torch.allclose(net(x, lengths), net.extract()(x, lengths), atol=1e-5)
        True
    """

    def __init__(self, space: SearchSpace, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.space, self.in_channels, self.num_classes = space, in_channels, num_classes
        self.stem = ElasticConvBN(
            in_channels, max(space.stem.width), space.stem.kernel, space.causal
        )
        entries, slots = [], []
        prev = max(space.stem.width)
        for st in space.stages:
            width = max(st.width)
            entries.append(ElasticConvBN(prev, width, (entry_kernel(st.stride),), space.causal))
            slots.append(
                nn.ModuleList(
                    nn.ModuleDict(
                        {op: OPS[op].load("elastic")(space.ops[op], width, space.causal)
                         for op in st.ops}
                    )
                    for _ in range(st.max_depth)
                )
            )
            prev = width
        self.entries = nn.ModuleList(entries)
        self.slots = nn.ModuleList(slots)
        self.dropout = nn.Dropout(space.head.dropout)
        self.classifier = nn.Linear(prev, num_classes)
        self._active: Arch = canonical_arch(space, largest_arch(space))

    @property
    def active_arch(self) -> Arch:
        """The canonical arch ``forward`` runs."""
        return self._active

    def set_active(self, arch: Any) -> Arch:
        """Validate ``arch`` against the space, make it the active subnet, return it canonical."""
        self._active = canonical_arch(self.space, arch)
        return self._active

    def forward(self, x: Tensor, lengths: Tensor | None = None, arch: Any = None) -> Tensor:
        """Logits ``(B, classes)`` of the active subnet (or of ``arch``, which becomes active).

        Args:
            x: zero-padded batch ``(B, C, L)``.
            lengths: valid lengths ``(B,)``; None means all ``L``.
        """
        a = self.set_active(arch) if arch is not None else self._active
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[-1], dtype=torch.long, device=x.device)
        x = x * mask_from_lengths(lengths, x.shape[-1]).unsqueeze(1)
        s = a["stem"]
        x, lengths, mask = self.stem(
            x,
            lengths,
            cout=s["width"],
            k=s["kernel"],
            stride=s["stride"],
            wbits=s["wbits"],
            abits=s["abits"],
        )
        for entry, slots, st in zip(self.entries, self.slots, a["stages"], strict=True):
            k = entry.conv.kernel_size[0]
            x, lengths, mask = entry(
                x,
                lengths,
                cout=st["width"],
                k=k,
                stride=st["stride"],
                wbits=st["wbits"],
                abits=st["abits"],
            )
            for slot, block in zip(slots, st["blocks"], strict=False):
                x = slot[block["op"]](x, mask, st["width"], block)
        width = a["stages"][-1]["width"]
        pooled = self.dropout(masked_mean(x, lengths))  # (B, W)
        return nn.functional.linear(pooled, self.classifier.weight[:, :width], self.classifier.bias)

    @torch.no_grad()
    def extract(self, arch: Any = None) -> StaticNet:
        """A :class:`StaticNet` of plain torch layers holding the weights of ``arch``.

        ``arch`` defaults to the active one.

        In eval mode its output equals the supernet's for that arch. Fake quantization stays on
        the layers whose bits are below 32.
        """
        a = canonical_arch(self.space, arch) if arch is not None else self._active
        s = a["stem"]
        stem = self.stem.extract(
            self.in_channels, s["width"], s["kernel"], s["stride"], s["wbits"], s["abits"]
        )
        stages, prev = [], s["width"]
        for entry, slots, st in zip(self.entries, self.slots, a["stages"], strict=True):
            static_entry = entry.extract(
                prev, st["width"], entry.conv.kernel_size[0], st["stride"], st["wbits"], st["abits"]
            )
            blocks = [
                slot[b["op"]].extract(st["width"], b)
                for slot, b in zip(slots, st["blocks"], strict=False)
            ]
            stages.append(StaticStage(static_entry, blocks))
            prev = st["width"]
        classifier = nn.Linear(prev, self.num_classes)
        classifier.weight.copy_(self.classifier.weight[:, :prev])
        classifier.bias.copy_(self.classifier.bias)
        net = StaticNet(a, stem, stages, classifier, self.space.head.dropout)
        return net.train(self.training)
