"""Measured forward latency of a module: warm-up, repeats, median.

The caller fixes the number of CPU threads (``torch.set_num_threads``) before measuring; nothing
here changes it. The module runs in eval mode under ``torch.inference_mode()``.

- CPU: each repeat is timed with ``time.perf_counter`` around one forward call.
- CUDA: the device is synchronised after the warm-up, each repeat is timed with a pair of CUDA
  events recorded around the call, and the times are read after one final synchronisation, so
  the host never waits inside the timed region.

:func:`measure_latency_s` returns the median of the repeats (or their minimum, ``statistic="min"``,
which a shared machine reproduces better: see :mod:`nasx.predictors.latency.data`);
:func:`measure_samples_s` returns every repeat, for callers that pool the samples of several
interleaved rounds first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from nasx.predictors.latency.data import pooled_statistic

Timer = Callable[[], float]


def measure_samples_s(module: nn.Module, x: Tensor, lengths: Tensor | None, *, warmup: int,
                      repeats: int, timer: Timer = time.perf_counter) -> list[float]:
    """Seconds of each of ``repeats`` forward calls ``module(x, lengths)`` after ``warmup`` calls.

    Args:
        module: a module taking ``(x, lengths)``; it is put in eval mode.
        x: input ``(B, C, L)`` on the device to measure.
        lengths: valid lengths ``(B,)`` (or None, as the module allows).
        warmup: untimed calls first (>= 0).
        repeats: timed calls (>= 1).
        timer: the clock on CPU (seconds, monotonic); tests pass a fake one.

    Returns:
        ``repeats`` durations in seconds, in call order.
    """
    if warmup < 0 or repeats < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1, got {warmup} and {repeats}")
    module.eval()
    with torch.inference_mode():
        for _ in range(warmup):
            module(x, lengths)
        if x.device.type == "cuda":
            return _cuda_samples(module, x, lengths, repeats)
        out = []
        for _ in range(repeats):
            start = timer()
            module(x, lengths)
            out.append(timer() - start)
        return out


def _cuda_samples(module: nn.Module, x: Tensor, lengths: Tensor | None,
                  repeats: int) -> list[float]:
    """CUDA-event times of ``repeats`` calls (the caller holds inference mode)."""
    torch.cuda.synchronize(x.device)
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
              for _ in range(repeats)]
    for start, end in events:
        start.record()
        module(x, lengths)
        end.record()
    torch.cuda.synchronize(x.device)
    return [start.elapsed_time(end) / 1e3 for start, end in events]  # ms -> s


def measure_latency_s(module: nn.Module, x: Tensor, lengths: Tensor | None, *, warmup: int,
                      repeats: int, timer: Timer = time.perf_counter,
                      statistic: str = "median") -> float:
    """Median (or ``statistic="min"``: minimum) seconds of one forward call
    ``module(x, lengths)`` over ``repeats`` timed calls (see :func:`measure_samples_s`).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> class Net(nn.Module):
        ...     def forward(self, x, lengths):
        ...         return x.sum(-1)
        >>> measure_latency_s(Net(), torch.ones(1, 2, 3), None, warmup=1, repeats=3) > 0
        True
    """
    samples = measure_samples_s(module, x, lengths, warmup=warmup, repeats=repeats, timer=timer)
    return pooled_statistic(samples, statistic)
