"""Exporting subnets for deployment: ``nasx export`` and :func:`load_exported`.

- :func:`export_subnet` writes ``R/exports/<archid>/`` (arch.json, model.safetensors,
  metrics.json, model.pt2, model.onnx, model_step.onnx for causal subnets, and the C runtime:
  model.h, model.c, runtime/, golden.h, main.c), each format verified against the supernet;
  every format takes the raw data and applies the run's normalisation itself;
- :func:`load_exported` rebuilds the module from arch.json + model.safetensors, no supernet;
- :class:`StreamingNet` runs a causal exported subnet frame by frame.

Importing this package imports torch; ``nasx.load_exported`` imports it lazily.
"""

from __future__ import annotations

from nasx.export.convert import ExportError, export_static, spec_for
from nasx.export.exporter import FORMATS, ExportResult, export_subnet
from nasx.export.files import load_exported
from nasx.export.layers import ExportFileError
from nasx.export.net import ExportedNet, ExportSpec, build_exported
from nasx.export.pick import Pick, PickError, resolve_pick
from nasx.export.streaming import NotStreamableError, StreamingNet, streaming_blocker

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportFileError",
    "ExportResult",
    "ExportSpec",
    "ExportedNet",
    "NotStreamableError",
    "Pick",
    "PickError",
    "StreamingNet",
    "build_exported",
    "export_static",
    "export_subnet",
    "load_exported",
    "resolve_pick",
    "spec_for",
    "streaming_blocker",
]
