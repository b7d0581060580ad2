"""The ONNX graphs a profile timed, kept beside its measurements so a resumed profile does not
export them again (the dynamo exporter takes seconds per subnet, the timing milliseconds).

``<folder>/latency-<device>-<runtime>-graphs/`` holds ``<arch id>.onnx`` per subnet and
``settings.json``: what the graphs depend on (the space, input and class count, the traced
length, the seed of the random weights, torch's version). A folder written with other settings
is emptied before use. A graph is exported into a temporary folder inside it and renamed into
place, so a graph file that exists is complete: an interrupted export leaves only the
temporary folder, removed the next time.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasx.runs import atomic_write_text, fsync_folder
from nasx.runs.layout import (
    EXPORT_ONNX_FILE,
    LATENCY_GRAPHS_DIR,
    LATENCY_GRAPHS_SETTINGS_FILE,
)

GRAPH_SUFFIX = ".onnx"
_PARTIAL_PREFIX = ".export-"


def graphs_dir(folder: Path, device: str, runtime: str) -> Path:
    """``folder/latency-<device>-<runtime>-graphs``."""
    return Path(folder) / LATENCY_GRAPHS_DIR.format(device=device, runtime=runtime)


class GraphStore:
    """The kept graphs of one profile (see the module docstring).

    Args:
        folder: the graphs folder (:func:`graphs_dir`); created if missing.
        settings: what the graphs depend on (JSON-able); graphs kept with other settings are
            removed.
        tidy: remove the temporary folders of interrupted exports; False while another
            process may be exporting into the same folder (:mod:`.prefetch`).
    """

    def __init__(self, folder: Path, settings: dict[str, Any], *, tidy: bool = True) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if tidy:
            for partial in self.folder.glob(f"{_PARTIAL_PREFIX}*"):  # an interrupted export
                shutil.rmtree(partial, ignore_errors=True)
        record = self.folder / LATENCY_GRAPHS_SETTINGS_FILE
        try:
            kept = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kept = None
        if kept != settings:
            for old in self.folder.glob(f"*{GRAPH_SUFFIX}"):
                old.unlink()
            atomic_write_text(record, json.dumps(settings, indent=1, sort_keys=True) + "\n")

    def path(self, subnet_id: str) -> Path:
        """Where the graph of subnet ``subnet_id`` is kept."""
        return self.folder / f"{subnet_id}{GRAPH_SUFFIX}"

    def graph(self, subnet_id: str, export: Callable[[Path], None]) -> Path:
        """The kept graph of ``subnet_id``; when there is none, ``export(path)`` writes it to a
        temporary path first and it is renamed into place."""
        target = self.path(subnet_id)
        if target.is_file():
            return target
        with tempfile.TemporaryDirectory(dir=self.folder, prefix=_PARTIAL_PREFIX) as tmp:
            written = Path(tmp) / EXPORT_ONNX_FILE
            export(written)
            os.replace(written, target)
        fsync_folder(self.folder)
        return target
