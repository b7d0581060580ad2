"""Shared helpers for the supernet tests: a briefly trained supernet and a padded batch."""

from __future__ import annotations

import numpy as np
import torch

from nasx.search_spaces import SearchSpace, largest_arch, random_arch, smallest_arch
from nasx.supernet import Supernet


def warmed_supernet(space: SearchSpace, in_channels: int, classes: int, seed: int = 0,
                    steps: int = 4) -> Supernet:
    """A supernet after a few SGD steps on random data and random archs, so BatchNorm running
    stats, activation ranges and weights all differ from their initial values."""
    torch.manual_seed(seed)
    net = Supernet(space, in_channels, classes)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    rng = np.random.default_rng(seed)
    x = torch.randn(6, in_channels, 24)
    lengths = torch.tensor([24, 20, 17, 9, 24, 12])
    y = torch.arange(6) % classes
    net.train()
    for i in range(steps):
        archs = [largest_arch(space, rng), smallest_arch(space, rng), random_arch(space, rng)]
        opt.zero_grad()
        for a in archs:
            torch.nn.functional.cross_entropy(net(x, lengths, arch=a), y).backward()
        opt.step()
        del i
    return net.eval()


def padded_batch(in_channels: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """``x (5, C, 21)`` zero-padded to the given lengths (one of length 1)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([21, 16, 9, 3, 1])
    x = torch.randn(5, in_channels, 21, generator=g)
    x = x * (torch.arange(21) < lengths[:, None]).unsqueeze(1)
    return x, lengths
