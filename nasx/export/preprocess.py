"""The input preprocessing an exported subnet carries: the run's normalisation and class names.

An exported model takes the raw data as the user gave it to nasx; :class:`InputNorm`, the first
module of :class:`~nasx.export.net.ExportedNet`, applies the normalisation training used, so it
is part of every format (nodes at the input of the ONNX and pt2 graphs, metadata of
``model.safetensors``, arrays of ``model.h``). Modes (the data's ``normalization``):

- ``"channel"``: ``(x - mean[c]) / std[c]`` with the training split's statistics;
- ``"series"``: each sequence and channel z-normalised over its own valid steps (population
  std, floored at ``1e-6``);
- ``"none"``: the data as given.

Padded steps stay exactly 0 in every mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

NORMALIZATIONS = ("channel", "series", "none")
MIN_STD = 1e-6  # as nasx.data.normalize


def normalization_of(splits: Any) -> str:
    """The normalisation mode of loaded ``splits`` (``DatasetSplits``): its ``normalization``
    field, or for data loaded before that field existed ``normalized`` True -> ``"channel"``."""
    mode = getattr(splits, "normalization", None)
    if mode is None:
        mode = "channel" if splits.normalized else "none"
    return str(mode)


@dataclass(frozen=True)
class Preprocessing:
    """What an exported model does to its raw input, and what its outputs mean.

    Attributes:
        normalization: ``"channel"``, ``"series"`` or ``"none"`` (see the module docstring).
        mean, std: ``(C,)`` training statistics (used by ``"channel"``; 0 and 1 otherwise).
        classes: class names in logit order (``logits[:, i]`` is ``classes[i]``).
    """

    normalization: str = "none"
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    classes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization {self.normalization!r} is not one of "
                             f"{', '.join(NORMALIZATIONS)}")
        if len(self.mean) != len(self.std):
            raise ValueError("mean and std must have the same length")

    @classmethod
    def of_splits(cls, splits: Any) -> Preprocessing:
        """The preprocessing of a run's loaded ``splits``."""
        mode = normalization_of(splits)
        if mode == "channel":
            mean = tuple(float(v) for v in splits.mean.float().tolist())
            std = tuple(float(v) for v in splits.std.float().tolist())
        else:
            mean, std = (0.0,) * splits.channels, (1.0,) * splits.channels
        return cls(mode, mean, std, tuple(str(c) for c in splits.classes))

    def to_json(self) -> dict[str, Any]:
        """The ``input`` document of ``arch.json`` / ``metrics.json``."""
        return {"normalization": self.normalization, "mean": list(self.mean),
                "std": list(self.std), "classes": list(self.classes),
                "padding": "padded steps are zeros; pass the valid lengths"}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Preprocessing:
        """Inverse of :meth:`to_json` (``KeyError``/``TypeError``/``ValueError`` if malformed)."""
        return cls(str(raw["normalization"]), tuple(float(v) for v in raw["mean"]),
                   tuple(float(v) for v in raw["std"]), tuple(str(c) for c in raw["classes"]))

    def metadata(self) -> dict[str, str]:
        """String metadata for ``model.safetensors`` (values are JSON texts)."""
        import json

        return {"normalization": self.normalization, "input_mean": json.dumps(list(self.mean)),
                "input_std": json.dumps(list(self.std)),
                "classes": json.dumps(list(self.classes))}


class InputNorm(nn.Module):
    """``x (B, C, L)`` raw -> normalised as in training; padded steps (``lengths``) become 0."""

    def __init__(self, pre: Preprocessing, channels: int) -> None:
        super().__init__()
        self.mode = pre.normalization
        mean = pre.mean or (0.0,) * channels
        std = pre.std or (1.0,) * channels
        if len(mean) != channels:
            raise ValueError(f"preprocessing has {len(mean)} channel statistics, the model "
                             f"{channels} input channels")
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1))

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x (B, C, L)``, ``mask (B, L)`` of valid steps or None (all valid)."""
        valid = None if mask is None else mask.unsqueeze(1).to(x.dtype)  # (B, 1, L)
        if self.mode == "channel":
            x = (x - self.mean) / self.std
        elif self.mode == "series":
            x = series_normalize(x, valid)
        return x if valid is None else x * valid


def series_normalize(x: Tensor, valid: Tensor | None) -> Tensor:
    """Each sequence and channel of ``x (B, C, L)`` z-normalised over its valid steps
    (``valid (B, 1, L)`` 0/1, or None: all); population std floored at ``MIN_STD``."""
    if valid is None:
        mean = x.mean(dim=-1, keepdim=True)  # (B, C, 1)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    else:
        count = valid.sum(dim=-1, keepdim=True).clamp_min(1.0)  # (B, 1, 1)
        mean = (x * valid).sum(dim=-1, keepdim=True) / count
        var = (((x - mean) * valid) ** 2).sum(dim=-1, keepdim=True) / count
    return (x - mean) / var.sqrt().clamp_min(MIN_STD)


def raw_splits(cfg: Any) -> Any:
    """The run's data as the user gave it (``DatasetSplits``, not normalised): the same
    train/val/test samples in the same order as the run's normalised splits (config ``cfg``)."""
    from nasx.data import load_dataset

    return load_dataset(cfg.data.name, val_fraction=cfg.data.val_fraction,
        val_sample=cfg.data.val_sample, seed=cfg.seed,
                        normalize="none")
