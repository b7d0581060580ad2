"""The golden record of 100 fixed archs: supernet logits, cost-model numbers and export outputs.

The op-registry refactor (issue 19) must not change a single number for existing archs. This
module computes, for 20 seeded random archs of each of five spaces (the four presets and a causal
copy of ``hybrid-mcu``), on a seeded supernet with a fixed input:

- the supernet's logits and the extracted static net's logits (eval mode);
- every :class:`~nasx.predictors.cost.model.ArchCost` number in both modes on ``stm32h743``, the
  latency-model features and the accuracy predictor's arch-summary features (by name: a new op
  adds feature columns, which must be 0 for these archs);
- the exported module's logits, a SHA-256 of its file tensors and of its C header, and (causal
  space) the streaming logits of the last frame.

``python tests/golden/golden_archs.py`` rewrites ``archs_golden.json``; do that only for a
change that is meant to change these numbers, and say so in the commit.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasx.export import export_static, spec_for
from nasx.export.c_header import c_header
from nasx.export.streaming import StreamingNet
from nasx.predictors.accuracy.arch_summary import ArchSummary
from nasx.predictors.cost.model import MODES, CostModel
from nasx.predictors.devices.registry import load_device
from nasx.predictors.latency.features import FEATURE_NAMES, subnet_vector
from nasx.search_spaces import (
    GenomeCodec,
    SearchSpace,
    canonical_arch,
    load_space,
    random_arch,
    space_from_dict,
    space_to_dict,
)
from nasx.supernet import Supernet

GOLDEN = Path(__file__).with_name("archs_golden.json")
CHANNELS, CLASSES, LENGTH, ARCHS_PER_SPACE = 5, 4, 24, 20
SPACES = ("tiny", "hybrid-mcu", "hybrid-gpu", "hybrid-long", "hybrid-mcu-causal")


def golden_space(name: str) -> SearchSpace:
    """A preset, or ``<preset>-causal``: the preset with ``causal: true``."""
    if not name.endswith("-causal"):
        return load_space(name)
    raw = space_to_dict(load_space(name.removesuffix("-causal")))
    raw.update(name=name, causal=True)
    return space_from_dict(raw)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    x = torch.randn(3, CHANNELS, LENGTH, generator=g)
    lengths = torch.tensor([LENGTH, 17, 9])
    return x * (torch.arange(LENGTH) < lengths[:, None]).unsqueeze(1), lengths


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].contiguous()
        h.update(f"{k}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def _floats(t: torch.Tensor) -> list[float]:
    return [float(v) for v in t.detach().double().flatten()]


@torch.no_grad()
def space_record(name: str) -> list[dict[str, Any]]:
    """The golden entries of the ``ARCHS_PER_SPACE`` seeded archs of space ``name``."""
    space = golden_space(name)
    torch.manual_seed(0)
    net = Supernet(space, CHANNELS, CLASSES)
    x, lengths = _batch()
    rng = np.random.default_rng(19)
    device = load_device("stm32h743")
    models = {m: CostModel(space, CHANNELS, CLASSES, length=LENGTH, mode=m, device=device)
              for m in MODES}
    codec = GenomeCodec(space)
    summary = ArchSummary(codec)
    out = []
    for _ in range(ARCHS_PER_SPACE):
        arch = canonical_arch(space, random_arch(space, rng))
        net.train()
        net(x, lengths, arch=arch)  # quantizer ranges and BatchNorm statistics see this arch
        net.eval()
        logits = net(x, lengths, arch=arch)
        static = net.extract(copy.deepcopy(arch)).eval()
        exported = export_static(static, spec_for(space, static.arch, CHANNELS, CLASSES))
        genome = np.array([codec.encode(arch)])
        entry: dict[str, Any] = {
            "space": name, "arch": arch,
            "supernet": _floats(logits), "static": _floats(static(x, lengths)),
            "cost": {m: {k: v for k, v in vars(c.cost(arch)).items()} for m, c in models.items()},
            "latency_features": dict(zip(FEATURE_NAMES, map(float, subnet_vector(
                models["whole-sequence"].units(arch), LENGTH)), strict=True)),
            "summary": dict(zip(summary.names, map(float, summary.transform(genome)[0]),
                                strict=True)),
            "export": _floats(exported(x, lengths)),
            "export_tensors": _tensors_digest(exported.tensors()),
            "c_header": _digest(c_header(exported, max_length=LENGTH).encode()),
        }
        if space.causal:
            entry["streaming"] = _floats(StreamingNet(exported).run(x[:1])[..., -1])
        out.append(entry)
    return out


def golden_record() -> list[dict[str, Any]]:
    """Every golden entry (100 archs)."""
    torch.set_num_threads(1)
    return [e for name in SPACES for e in space_record(name)]


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(golden_record(), indent=0, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
