"""Shared helpers for the export tests: small spaces, hand-made archs per op type and a
briefly trained supernet whose quantizers have all seen activation ranges."""

from __future__ import annotations

import copy
from typing import Any

import torch

from nasx.export import ExportedNet, export_static, spec_for
from nasx.search_spaces import (
    SearchSpace,
    canonical_arch,
    load_space,
    space_from_dict,
    space_to_dict,
)
from nasx.supernet import Supernet

CHANNELS, CLASSES = 5, 4
OP_CHOICES = {"conv": {"kernel": 5, "expand": 2}, "lstm": {"hidden": 1.0},
              "ssm": {"state": 8, "expand": 2}, "attn": {"heads": 2, "ffn": 2}}


def tiny_space(causal: bool = False) -> SearchSpace:
    """The ``tiny`` preset with LSTM allowed in both stages (and ``causal`` as given)."""
    raw = space_to_dict(load_space("tiny"))
    raw.update(name="tiny-causal" if causal else "tiny-all-ops", causal=causal)
    for st in raw["stages"]:
        st["ops"] = ["conv", "lstm", "ssm", "attn"]
    return space_from_dict(raw)


def op_arch(space: SearchSpace, op: str, wbits: int = 32, abits: int = 32,
            second: str | None = None, stem_kernel: int = 5, stride: int = 2) -> dict[str, Any]:
    """Stem + two stages (the second strided) of one block each: ``op`` then ``second``."""
    def block(o: str) -> dict[str, Any]:
        return {"op": o, **OP_CHOICES[o], "wbits": wbits, "abits": abits}

    bits = {"wbits": wbits, "abits": abits}
    arch = {"stem": {"width": 16, "kernel": stem_kernel, "stride": 1, **bits},
            "stages": [{"depth": 1, "width": 16, "stride": 1, **bits, "blocks": [block(op)]},
                       {"depth": 1, "width": 24, "stride": stride, **bits,
                        "blocks": [block(second or op)]}]}
    return canonical_arch(space, arch)


def warmed(space: SearchSpace, archs: list[dict[str, Any]], steps: int = 3,
           seed: int = 0) -> Supernet:
    """A supernet after a few SGD steps on ``archs`` (every quantizer they use sees a range,
    BatchNorm statistics and weights move away from their initial values); eval mode."""
    torch.manual_seed(seed)
    net = Supernet(space, CHANNELS, CLASSES)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    x, lengths = padded_batch(seed=seed + 100, batch=8, length=20)
    y = torch.arange(8) % CLASSES
    net.train()
    for _ in range(steps):
        opt.zero_grad()
        for a in archs:
            torch.nn.functional.cross_entropy(net(x, lengths, arch=a), y).backward()
        opt.step()
    return net.eval()


def padded_batch(seed: int = 1, batch: int = 6, length: int = 19
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``x (batch, C, length)`` zero-padded to random lengths (the first one full, one of 1)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, length + 1, (batch,), generator=g)
    lengths[0], lengths[-1] = length, 1
    x = torch.randn(batch, CHANNELS, length, generator=g)
    return x * (torch.arange(length) < lengths[:, None]).unsqueeze(1), lengths


def exported(net: Supernet, arch: dict[str, Any]) -> ExportedNet:
    """The exported module of ``arch`` (from ``net`` as it stands)."""
    with torch.no_grad():
        static = net.extract(copy.deepcopy(arch)).eval()
    return export_static(static, spec_for(net.space, static.arch, CHANNELS, CLASSES))
