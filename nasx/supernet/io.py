"""Saving and loading supernet weights as safetensors (never pickle).

The file holds the state dict plus metadata: the format version, the input channels, the class
count and the search space's name; the space itself is saved next to it as ``space.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load, save

from nasx import __version__
from nasx.errors import NasxError
from nasx.runs import atomic_write_bytes
from nasx.search_spaces import SearchSpace
from nasx.supernet.net import Supernet

FORMAT = "nasx-supernet-1"


def save_supernet(net: Supernet, path: str | Path) -> None:
    """Write ``net``'s weights and buffers to ``path`` atomically (temp file, fsync, rename)."""
    tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    meta = {"format": FORMAT, "nasx": __version__, "space": net.space.name,
            "in_channels": str(net.in_channels), "num_classes": str(net.num_classes)}
    atomic_write_bytes(path, save(tensors, metadata=meta))


def load_supernet(path: str | Path, space: SearchSpace) -> Supernet:
    """Rebuild the supernet of ``space`` saved at ``path``.

    Raises:
        NasxError: a missing, truncated or foreign file, or weights of another space.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise NasxError(f"{p}: supernet file not found") from None
    try:
        tensors = load(data)
        meta = safetensors_metadata(data)
    except (SafetensorError, ValueError) as exc:
        raise NasxError(f"{p}: not a readable safetensors file ({str(exc).splitlines()[0]}); "
                        "the file is truncated or corrupt: restore it or retrain") from None
    if meta.get("format") != FORMAT:
        raise NasxError(f"{p}: not a nasx supernet file (format {meta.get('format')!r}, "
                        f"expected {FORMAT!r})")
    net = Supernet(space, int(meta["in_channels"]), int(meta["num_classes"]))
    try:
        missing, unexpected = net.load_state_dict(tensors, strict=False)
    except RuntimeError:  # a tensor of the wrong shape
        missing, unexpected = ["<shape mismatch>"], []
    if missing or unexpected or meta.get("space") != space.name:
        raise NasxError(f"{p}: weights do not fit the search space {space.name!r} (saved for "
                        f"{meta.get('space')!r}); use the space.yaml saved with them")
    return net


def safetensors_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a serialized safetensors blob (``{}`` when it has none).

    Raises:
        ValueError: a header that is not a JSON object (``json.JSONDecodeError`` included).
    """
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_len])
    if not isinstance(header, dict):
        raise ValueError("the safetensors header is not a JSON object")
    return dict(header.get("__metadata__") or {})
