"""extract(arch) is a static module whose output equals the supernet's for that arch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from supernet_helpers import padded_batch, warmed_supernet
from torch import nn

from nasx.search_spaces import (
    largest_arch,
    load_space,
    random_arch,
    smallest_arch,
    space_from_dict,
    space_to_dict,
)
from nasx.supernet import StaticNet
from nasx.supernet.net import Supernet

# Modules a static subnet may contain besides nasx's own plain containers.
PLAIN = (nn.Conv1d, nn.BatchNorm1d, nn.LSTM, nn.LayerNorm, nn.Linear, nn.Dropout)


def _check_archs(net: Supernet, archs: list[dict], in_channels: int) -> tuple[float, int]:
    x, lengths = padded_batch(in_channels)
    worst, quantized = 0.0, 0
    with torch.no_grad():
        for a in archs:
            ref = net(x, lengths, arch=a)
            static = net.extract(a)
            assert isinstance(static, StaticNet) and not static.training
            assert static.arch == net.active_arch
            out = static(x, lengths)
            worst = max(worst, (ref - out).abs().max().item())
            bits = [a["stem"]["wbits"]] + [b["wbits"] for s in a["stages"] for b in s["blocks"]]
            quantized += min(bits) < 32
    return worst, quantized


@pytest.mark.parametrize(("name", "channels", "classes"),
                         [("tiny", 12, 9), ("hybrid-mcu", 12, 9), ("hybrid-gpu", 3, 6)])
def test_extract_equals_supernet_on_100_archs(name: str, channels: int, classes: int) -> None:
    space = load_space(name)
    net = warmed_supernet(space, channels, classes, steps=2 if name == "hybrid-gpu" else 4)
    rng = np.random.default_rng(5)
    archs = [largest_arch(space, rng), smallest_arch(space, rng)]
    archs += [random_arch(space, rng) for _ in range(98)]
    worst, quantized = _check_archs(net, archs, channels)
    assert worst <= 1e-5
    if len(space.quant.weight_bits) > 1:
        assert quantized >= 30


def test_extract_equals_supernet_in_a_causal_space_with_kernel_transforms() -> None:
    raw = space_to_dict(load_space("tiny"))
    raw.update(name="tiny-causal", causal=True)
    raw["ops"]["conv"].update(kernel=[3, 5, 7], kernel_transform=True)
    space = space_from_dict(raw)
    net = warmed_supernet(space, 4, 3)
    # the transforms must have been trained away from the identity for this test to mean much
    moved = [not torch.equal(slot["conv"].crop.transforms[k], torch.eye(int(k)))
             for stage in net.slots for slot in stage for k in ("3", "5")]
    assert any(moved)
    rng = np.random.default_rng(1)
    worst, _ = _check_archs(net, [random_arch(space, rng) for _ in range(40)], 4)
    assert worst <= 1e-5


def test_static_net_holds_only_plain_layers_and_needs_no_supernet() -> None:
    space = load_space("tiny")
    net = warmed_supernet(space, 12, 9)
    arch = random_arch(space, np.random.default_rng(3))
    static = net.extract(arch)
    x, lengths = padded_batch(12)
    before = static(x, lengths)
    del net
    leaf_types = {type(m) for m in static.modules() if not list(m.children())}
    allowed = {*PLAIN, *(type(m) for m in static.modules() if type(m).__name__ == "ActQuant")}
    assert leaf_types <= allowed
    # the static net's parameters are its own tensors, not views of the supernet
    assert all(p._base is None for p in static.parameters())
    assert torch.equal(static(x, lengths), before)
    # no lengths means full length
    full = torch.full((5,), 21)
    assert torch.equal(static(x), static(x, full))


def test_extract_copies_the_active_slices_not_the_full_weights() -> None:
    space = load_space("tiny")
    net = warmed_supernet(space, 12, 9)
    arch = smallest_arch(space)
    static = net.extract(arch)
    assert static.stem.conv.weight.shape == (8, 12, 3)
    assert torch.equal(static.stem.conv.weight, net.stem.conv.weight[:8, :, 1:4])
    assert static.classifier.weight.shape == (9, 16)
    n_static = sum(p.numel() for p in static.parameters())
    assert n_static < sum(p.numel() for p in net.parameters()) / 10
