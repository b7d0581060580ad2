"""nasx: one-shot neural architecture search for hybrid conv / LSTM / SSM / attention networks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__version__ = "0.1.0"


def load_exported(path: str | Path) -> torch.nn.Module:
    """Rebuild an exported subnet from ``runs/<name>/exports/<archid>/`` (arch.json +
    model.safetensors), with no supernet: ``net(x (B, C, L), lengths (B,) | None) -> logits``.

    See :func:`nasx.export.load_exported` (imported here lazily so that ``import nasx`` and
    ``nasx --help`` stay fast).
    """
    from nasx.export.files import load_exported as load

    return load(path)
