"""Run an extracted subnet the way a runtime runs it, to time it (:mod:`.measure`).

- ``torch``: the extracted static module, eager PyTorch.
- ``onnxruntime``: the subnet exported exactly as ``nasx export --format onnx`` writes
  ``model.onnx`` (:func:`~nasx.export.graph_formats.export_onnx`: dynamic batch and length,
  QDQ for quantized layers, the exporter's graph optimisation), run by an onnxruntime CPU
  session with ``threads`` intra-op threads.
- ``pt2``: the ``torch.export`` program of ``model.pt2`` (:func:`~nasx.export.graph_formats.
  export_pt2`), loaded and run by torch.
- ``c``: the C99 runtime; not timed on this machine yet (:func:`check_runtime` says so).

Exporting costs seconds per subnet (the dynamo ONNX exporter: 8-30 s for a ``hybrid-mcu``
subnet on the shared 2-core machine, see BENCHMARKS.md), so ``nasx profile`` in onnxruntime
takes far longer than in torch; the timed call itself is what the predictor learns.

An activation quantizer that never saw data (a profile's random supernet) gets the range 1.0 on
a copy of the subnet before export: latency does not depend on the range's value.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from nasx.errors import NasxError
from nasx.predictors.devices.profile import RUNTIMES
from nasx.predictors.latency.graphs import GraphStore
from nasx.runs.layout import EXPORT_ONNX_FILE, EXPORT_PT2_FILE

MEASURABLE: tuple[str, ...] = ("onnxruntime", "torch", "pt2")


def check_runtime(runtime: str) -> None:
    """Raise :class:`NasxError` unless ``runtime`` can be timed on this machine."""
    if runtime not in RUNTIMES:
        raise NasxError(f"--runtime {runtime}: unknown runtime (allowed: "
                        f"{', '.join(MEASURABLE)})")
    if runtime not in MEASURABLE:
        raise NasxError(f"--runtime {runtime}: the C runtime is not timed by nasx profile yet "
                        f"(its host build has no timing entry point); measure one of "
                        f"{', '.join(MEASURABLE)}")


def _with_ranges(static: nn.Module) -> nn.Module:
    """``static`` (when every activation quantizer has a range) or a copy whose unseen
    quantizers get the range 1.0."""
    from nasx.supernet.quant import ActQuant

    unseen = [m for m in static.modules() if isinstance(m, ActQuant) and not bool(m.seen)]
    if not unseen:
        return static
    static = copy.deepcopy(static)
    for m in static.modules():
        if isinstance(m, ActQuant) and not bool(m.seen):
            m.seen.fill_(True)
            m.amax.fill_(1.0)
    return static


class _OrtModule(nn.Module):
    """An onnxruntime session called like the torch modules: ``(x, lengths) -> logits``."""

    def __init__(self, path: Path, threads: int) -> None:
        super().__init__()
        from nasx.export.graph_formats import onnx_session

        self.session = onnx_session(path, threads)
        self.bytes = path.stat().st_size

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Logits ``(B, K)``."""
        from nasx.export.graph_formats import run_onnx

        return run_onnx(self.session, x, lengths)


class _ProgramModule(nn.Module):
    """A loaded ``torch.export`` program (it does not take ``eval()``)."""

    def __init__(self, module: Any) -> None:
        super().__init__()
        self._module = (module,)  # a tuple: not registered as a submodule

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Logits ``(B, K)``."""
        return self._module[0](x, lengths)


def _exported(static: nn.Module, space: Any, channels: int, classes: int,
              preprocessing: Any) -> Any:
    """The ``ExportedNet`` of ``static`` (unseen activation ranges set to 1.0)."""
    from nasx.export.convert import export_static, spec_for

    ready = _with_ranges(static)
    return export_static(ready, spec_for(space, ready.arch, channels, classes, preprocessing))


def kept_onnx_graph(static: nn.Module, graphs: GraphStore, *, space: Any, channels: int,
                    classes: int, length: int, preprocessing: Any = None) -> Path:
    """The ONNX graph of ``static`` kept in ``graphs``: exported (as ``model.onnx`` is, traced
    at ``length``) when it is not kept yet, loaded from the store when it is."""
    from nasx.export.graph_formats import export_onnx
    from nasx.search_spaces import arch_id

    def write(path: Path) -> None:
        export_onnx(_exported(static, space, channels, classes, preprocessing), path, length)

    return graphs.graph(arch_id(static.arch), write)


def runtime_module(static: nn.Module, runtime: str, *, space: Any, channels: int,
                   classes: int, length: int, threads: int = 1,
                   preprocessing: Any = None, graphs: GraphStore | None = None) -> nn.Module:
    """``static`` (an eval-mode extracted subnet) as ``runtime`` runs it: a module taking
    ``(x (B, C, L), lengths (B,))``.

    Args:
        space: the search space ``static`` comes from (the export needs its spec).
        length: the length the export is traced at.
        threads: onnxruntime intra-op threads (torch's are the caller's).
        preprocessing: the run's input normalisation (``Preprocessing``), as the exported
            file carries it; None: none.
        graphs: where onnxruntime graphs are kept (:mod:`.graphs`): a kept graph is loaded
            instead of exported; None: exported into a temporary folder and not kept.

    Raises:
        NasxError: a runtime that cannot be timed here, or an export that fails.
    """
    check_runtime(runtime)
    if runtime == "torch":
        return static
    if runtime == "onnxruntime" and graphs is not None:
        path = kept_onnx_graph(static, graphs, space=space, channels=channels,
                               classes=classes, length=length, preprocessing=preprocessing)
        return _OrtModule(path, threads)
    net = _exported(static, space, channels, classes, preprocessing)
    with tempfile.TemporaryDirectory(prefix="nasx-runtime-") as tmp:
        if runtime == "onnxruntime":
            from nasx.export.graph_formats import export_onnx

            path = Path(tmp) / EXPORT_ONNX_FILE
            export_onnx(net, path, length)
            return _OrtModule(path, threads)  # the session holds the graph in memory
        from nasx.export.graph_formats import export_pt2, load_pt2

        path = Path(tmp) / EXPORT_PT2_FILE
        export_pt2(net, path, length)
        return _ProgramModule(load_pt2(path))


def module_bytes(module: nn.Module) -> int:
    """About how much memory a timed module holds (its parameters, or its ONNX file)."""
    if isinstance(module, _OrtModule):
        return module.bytes
    return sum(p.numel() * p.element_size() for p in module.parameters())


__all__ = ["MEASURABLE", "check_runtime", "kept_onnx_graph", "module_bytes", "runtime_module"]
