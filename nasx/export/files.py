"""The files of an export folder and :func:`load_exported`.

::

    exports/<archid>/arch.json          ExportSpec: arch, channels, classes, causal, ...
    exports/<archid>/model.safetensors  the tensors (BN folded, integer codes + scales)
    exports/<archid>/metrics.json       accuracy, cost per device, verification, latency
    exports/<archid>/model.pt2          torch.export program (dynamic batch and length)
    exports/<archid>/model.onnx         ONNX (dynamic batch and length; QDQ where quantized)
    exports/<archid>/model_step.onnx    ONNX streaming step (causal subnets)
    exports/<archid>/model.h            C header (codes, scales, layer table, API)
    exports/<archid>/model.c, runtime/, golden.h, main.c   the C runtime (nasx.export.mcu)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load, save

from nasx import __version__
from nasx.export.layers import ExportFileError
from nasx.export.net import FORMAT, ExportedNet, ExportSpec, build_exported
from nasx.export.preprocess import Preprocessing
from nasx.jsonfiles import load_json
from nasx.runs.layout import EXPORT_ARCH_FILE, EXPORT_WEIGHTS_FILE
from nasx.runs.schema import problem
from nasx.supernet.io import safetensors_metadata

SPEC_SCHEMA = {"arch!": {"stem!": {}, "stages!": [{}]}, "in_channels!": "int",
               "num_classes!": "int", "causal!": "bool", "head_dim!": "int",
               "entry_kernels!": ["int"], "space": "str",
               "input": {"normalization!": "str", "mean!": ["num"], "std!": ["num"],
                         "classes!": ["str"]}}


def weights_bytes(net: ExportedNet) -> bytes:
    """``model.safetensors`` content of ``net``: its tensors; metadata format/id/version and
    the input preprocessing and class names (:meth:`Preprocessing.metadata`)."""
    meta = {"format": FORMAT, "id": net.spec.id, "nasx": __version__,
            **net.spec.input.metadata()}
    return save(net.tensors(), metadata=meta)


def read_spec(path: Path) -> ExportSpec:
    """The :class:`ExportSpec` in ``path`` (an ``arch.json``).

    Raises:
        ExportFileError: missing, not JSON, not an export's arch.json.
    """
    raw = load_json(path, ExportFileError,
                    missing=f"{path.parent}: not an export folder (no {EXPORT_ARCH_FILE}); give a "
                    "folder written by nasx export",
                    unreadable=f"{path}: not valid JSON ({{reason}}); export the subnet again")
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        got = raw.get("format") if isinstance(raw, dict) else None
        raise ExportFileError(f"{path}: not a nasx export arch.json (format {got!r}, expected "
                              f"{FORMAT!r})")
    found = problem(raw, SPEC_SCHEMA)
    stages = raw["arch"].get("stages") if isinstance(raw.get("arch"), dict) else None
    if found is None and (not isinstance(stages, list)
                          or len(raw["entry_kernels"]) != len(stages)):
        found = "entry_kernels: expected one kernel per stage of the arch"
    if found is None and (min([raw["in_channels"], raw["num_classes"],
                               *raw["entry_kernels"]]) < 1 or raw["head_dim"] < 0):
        found = "in_channels, num_classes and entry_kernels must be >= 1, head_dim >= 0"
    if found is not None:
        raise ExportFileError(f"{path}: {found}; export the subnet again")
    try:
        pre = Preprocessing.from_json(raw["input"]) if "input" in raw else Preprocessing()
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportFileError(f"{path}: malformed ({type(exc).__name__}: {exc}); export the "
                              "subnet again") from None
    return ExportSpec(arch=raw["arch"], in_channels=raw["in_channels"],
                      num_classes=raw["num_classes"], causal=raw["causal"],
                      head_dim=raw["head_dim"], entry_kernels=tuple(raw["entry_kernels"]),
                      space=str(raw.get("space", "")), input=pre)


def read_weights(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Tensors and metadata of a ``model.safetensors``.

    Raises:
        ExportFileError: missing, truncated or corrupt.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ExportFileError(f"{path}: not found; export the subnet again") from None
    try:
        tensors = load(data)
        meta = safetensors_metadata(data)
    except (SafetensorError, ValueError, UnicodeDecodeError) as exc:
        raise ExportFileError(f"{path}: not a readable safetensors file "
                              f"({str(exc).splitlines()[0]}); the file is truncated or corrupt: "
                              "export the subnet again (nasx export --overwrite)") from None
    return tensors, meta


def load_exported(path: str | Path) -> ExportedNet:
    """Rebuild an exported subnet from its folder (``arch.json`` + ``model.safetensors``).

    No supernet and no search space are needed. The module is in eval mode; call it as
    ``net(x (B, C, L), lengths (B,) | None) -> logits (B, K)`` on raw data as it was given
    to nasx (the training normalisation is part of the module; ``net.spec.input`` holds it and
    the class names).

    Raises:
        ExportFileError: a missing, corrupt or mismatched file (one line naming it).

    Example:
        >>> net = load_exported("runs/jv/exports/0123456789ab")  # doctest: +SKIP
        >>> logits = net(x, lengths)  # doctest: +SKIP
    """
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    spec = read_spec(folder / EXPORT_ARCH_FILE)
    weights = folder / EXPORT_WEIGHTS_FILE
    tensors, meta = read_weights(weights)
    if meta.get("format") != FORMAT or meta.get("id") != spec.id:
        raise ExportFileError(f"{weights}: written for arch {meta.get('id')!r} (format "
                              f"{meta.get('format')!r}), but {EXPORT_ARCH_FILE} is arch "
                              f"{spec.id!r}; export the subnet again")
    stored = {k: meta[k] for k in spec.input.metadata() if k in meta}
    if stored and stored != spec.input.metadata():
        raise ExportFileError(f"{weights}: its input preprocessing or class names differ from "
                              f"{EXPORT_ARCH_FILE}'s; export the subnet again")
    try:
        return build_exported(spec, tensors, str(weights))
    except (KeyError, TypeError) as exc:
        raise ExportFileError(f"{folder / EXPORT_ARCH_FILE}: malformed arch ({type(exc).__name__}: "
                              f"{exc}); export the subnet again") from None
