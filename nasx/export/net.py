"""The exported subnet as a module: :class:`ExportedNet`, and what ``arch.json`` describes.

``ExportedNet(x (B, C, L), lengths (B,) | None) -> logits (B, classes)`` computes what the
supernet computes for its arch (BatchNorm folded, quantized weights as integer codes and
scales, activation ranges fixed). It needs no supernet and no search space: ``arch.json``
(:class:`ExportSpec`) and the tensors of ``model.safetensors`` rebuild it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from nasx.export.blocks import ConvReLU
from nasx.export.layers import Layer, TensorReader, layer_tensors, read_layer, set_qdq
from nasx.export.preprocess import InputNorm, Preprocessing
from nasx.ops import OPS
from nasx.search_spaces import arch_id

FORMAT = "nasx-export-1"


@dataclass(frozen=True)
class ExportSpec:
    """Everything besides the tensors that rebuilds an exported subnet (``arch.json``).

    Attributes:
        arch: the canonical arch.
        in_channels: input channels ``C``.
        num_classes: classes ``K``.
        causal: conv and attention see only the past (the space's ``causal`` flag).
        head_dim: attention head size (the space's ``ops.attn.head_dim``; 0 without attention).
        entry_kernels: kernel of each stage's entry conv.
        space: name of the search space it came from (informational).
        input: the raw input's preprocessing (normalisation) and the class names.
    """

    arch: dict[str, Any]
    in_channels: int
    num_classes: int
    causal: bool
    head_dim: int
    entry_kernels: tuple[int, ...]
    space: str = ""
    input: Preprocessing = field(default_factory=Preprocessing)

    @property
    def id(self) -> str:
        """The arch id."""
        return arch_id(self.arch)

    def to_json(self) -> dict[str, Any]:
        """The ``arch.json`` document."""
        return {"format": FORMAT, "id": self.id, "arch": self.arch,
                "in_channels": self.in_channels, "num_classes": self.num_classes,
                "causal": self.causal, "head_dim": self.head_dim,
                "entry_kernels": list(self.entry_kernels), "space": self.space,
                "input": self.input.to_json()}


class ExportedStage(nn.Module):
    """A stage: entry conv, then its blocks."""

    def __init__(self, entry: ConvReLU, blocks: list[nn.Module]) -> None:
        super().__init__()
        self.entry = entry
        self.blocks = nn.ModuleList(blocks)


class ExportedNet(nn.Module):
    """An exported subnet (see the module docstring); ``spec`` describes it."""

    def __init__(self, spec: ExportSpec, stem: ConvReLU, stages: list[ExportedStage],
                 classifier: Layer) -> None:
        super().__init__()
        self.spec = spec
        self.input_norm = InputNorm(spec.input, spec.in_channels)
        self.stem = stem
        self.stages = nn.ModuleList(stages)
        self.classifier = classifier
        self.eval()

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Logits ``(B, K)`` of a zero-padded batch ``x (B, C, L)`` of raw data (as given
        to nasx; normalised here as in training) with valid ``lengths`` (None: every sequence
        has all ``L`` steps, and no masking is done)."""
        mask = None
        if lengths is not None:
            mask = torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None]
        x = self.input_norm(x, mask)  # (B, C, L)
        x, lengths, mask = self.stem(x, lengths)
        for stage in self.stages:
            x, lengths, mask = stage.entry(x, lengths)
            for block in stage.blocks:
                x = block(x, mask)
        if lengths is None:
            pooled = x.sum(dim=-1) / x.shape[-1]  # (B, W)
        else:
            pooled = x.sum(dim=-1) / lengths.unsqueeze(1).to(x.dtype)
        c = self.classifier
        return torch.nn.functional.linear(pooled, c.w(), c.bias)

    def tensors(self) -> dict[str, Tensor]:
        """Every tensor of ``model.safetensors`` by name."""
        out = self.stem.tensors("stem")
        for i, stage in enumerate(self.stages):
            out.update(stage.entry.tensors(f"stages.{i}.entry"))
            for j, block in enumerate(stage.blocks):
                out.update(block.tensors(f"stages.{i}.blocks.{j}"))
        out.update(layer_tensors("classifier", self.classifier))
        return {k: v.detach().cpu().contiguous() for k, v in out.items()}

    def export_mode(self, *, traceable: bool, qdq: bool = False) -> ExportedNet:
        """Switch blocks with a ``traceable`` flag (the SSM) to their traceable path and the
        quantizers to QDQ ops (for the ONNX exporter); returns ``self``."""
        for m in self.modules():
            if hasattr(m, "traceable"):  # blocks with an eager-only fast path (the SSM scan)
                m.traceable = traceable
        set_qdq(self, qdq)
        return self


def build_exported(spec: ExportSpec, tensors: dict[str, Tensor], source: str) -> ExportedNet:
    """Rebuild the module of ``spec`` from its file tensors (``source`` names the file in errors).

    Raises:
        ExportFileError: a tensor missing, of the wrong shape or dtype, or left over.
    """
    r = TensorReader(tensors, source)
    a, causal = spec.arch, spec.causal
    s = a["stem"]
    stem = ConvReLU.read(r, "stem", spec.in_channels, s["width"], s["kernel"], s["stride"],
                         causal, s["wbits"], s["abits"])
    stages, prev = [], s["width"]
    for i, (st, ek) in enumerate(zip(a["stages"], spec.entry_kernels, strict=True)):
        w = st["width"]
        entry = ConvReLU.read(r, f"stages.{i}.entry", prev, w, ek, st["stride"], causal,
                              st["wbits"], st["abits"])
        blocks: list[nn.Module] = []
        for j, b in enumerate(st["blocks"]):
            p = f"stages.{i}.blocks.{j}"
            blocks.append(OPS[b["op"]].load("hooks").read(r, p, w, b, spec))
        stages.append(ExportedStage(entry, blocks))
        prev = w
    classifier = read_layer(r, "classifier", (spec.num_classes, prev), 32, None)
    r.check_all_used()
    return ExportedNet(spec, stem, stages, classifier)
