"""Real numbers for the search's candidates: validation accuracy and, on this machine, latency.

- Accuracy and loss: :func:`nasx.predictors.accuracy.data.evaluate_archs` (validation split,
  BatchNorm recalibrated; each new subnet is appended to the run's predictor data, so a refit
  learns it).
- Latency on ``host-cpu`` (this machine): the subnet is extracted as a static module, put in
  the runtime the latency is for (:func:`nasx.predictors.latency.runtimes.runtime_module`: exported
  as ``model.onnx`` for onnxruntime) and timed with
  :func:`nasx.predictors.latency.measure.measure_samples_s` on a ``(batch, channels, length)``
  input (every sequence full length), ``repeats`` calls after ``warmup``, with the CPU threads
  fixed, summarised by ``statistic`` (``min``, robust on a shared machine, or ``median``); the
  settings are the measured latency predictor's when there is one (as ``nasx profile``
  measures), else batch 1, the data's longest sequence, 1 thread, 5 + 30 calls, ``min``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nasx.runs.trained import TrainedRun
from nasx.search_spaces import Arch

if TYPE_CHECKING:
    from nasx.predictors.accuracy.data import SubnetRecord

HOST_DEVICE = "host-cpu"


@dataclass(frozen=True)
class MeasureSettings:
    """How host latency is measured."""

    batch: int = 1
    length: int = 0  # 0: the data's longest sequence
    threads: int = 1
    warmup: int = 5
    repeats: int = 30
    statistic: str = "min"  # or "median"
    runtime: str = "onnxruntime"  # or "torch", "pt2"


def validated_records(run: TrainedRun, archs: Sequence[Arch], *, progress: bool = True
                      ) -> list[SubnetRecord]:
    """The validation record (accuracy, loss, per-sequence correctness and losses) of each of
    ``archs``, evaluating only new ones."""
    from nasx.predictors.accuracy.data import evaluate_archs

    return evaluate_archs(run, archs, progress=progress)


def measured_latency_ms(run: TrainedRun, archs: Sequence[Arch], settings: MeasureSettings
                        ) -> list[float]:
    """Forward latency in ms (``settings.statistic`` of the timed calls) of each extracted
    subnet on this machine's CPU."""
    import statistics

    import torch

    from nasx.export.preprocess import Preprocessing
    from nasx.predictors.latency.measure import measure_samples_s
    from nasx.predictors.latency.runtimes import runtime_module

    length = settings.length or run.splits.max_length
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(settings.batch, run.splits.channels, length, generator=gen)  # (B, C, L)
    lengths = torch.full((settings.batch,), length, dtype=torch.long)  # (B,)
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        out = []
        for arch in archs:
            module = runtime_module(run.net.extract(arch).eval().to("cpu"), settings.runtime,
                                    space=run.space, channels=run.splits.channels,
                                    classes=run.splits.num_classes, length=length,
                                    threads=settings.threads,
                                    preprocessing=Preprocessing.of_splits(run.splits))
            samples = measure_samples_s(module, x, lengths, warmup=settings.warmup,
                                        repeats=settings.repeats)
            pick = min(samples) if settings.statistic == "min" else statistics.median(samples)
            out.append(1e3 * pick)
        return out
    finally:
        torch.set_num_threads(threads)
