"""measure_latency_s: warm-up calls are untimed; the result is the median (or min) of repeats."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from nasx.predictors.latency.measure import measure_latency_s, measure_samples_s


class _Recorder(nn.Module):
    """Counts calls and records whether each ran in eval and inference mode."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        self.calls.append((self.training, torch.is_inference_mode_enabled()))
        return x.sum(-1)


class _FakeClock:
    """A timer whose consecutive (start, end) pairs are ``durations`` apart."""

    def __init__(self, durations: list[float]) -> None:
        self.ticks: list[float] = []
        t = 100.0
        for d in durations:
            self.ticks += [t, t + d]
            t += d + 1.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.ticks[self.reads - 1]


def test_samples_are_the_timed_durations_after_untimed_warmup() -> None:
    module = _Recorder().train()
    clock = _FakeClock([5.0, 1.0, 3.0, 2.0, 4.0])
    samples = measure_samples_s(module, torch.ones(1, 2, 3), None, warmup=3, repeats=5,
                                timer=clock)
    assert samples == [5.0, 1.0, 3.0, 2.0, 4.0]
    assert clock.reads == 10  # two reads per timed call, none for the 3 warm-up calls
    assert module.calls == [(False, True)] * 8  # eval mode, inference mode, 3 + 5 calls


@pytest.mark.parametrize(
    ("durations", "statistic", "expected"),
    [([5.0, 1.0, 3.0, 2.0, 4.0], "median", 3.0),
     ([9.0, 1.0, 2.0, 8.0], "median", 5.0),  # even count: mean of the middle two
     ([5.0, 1.0, 3.0, 2.0, 4.0], "min", 1.0)],
)
def test_latency_is_the_median_or_min_of_the_repeats(durations: list[float], statistic: str,
                                                    expected: float) -> None:
    got = measure_latency_s(_Recorder(), torch.ones(1, 2, 3), None, warmup=1,
                            repeats=len(durations), timer=_FakeClock(durations),
                            statistic=statistic)
    assert got == expected


def test_bad_counts_and_statistic_are_refused() -> None:
    with pytest.raises(ValueError, match="need warmup >= 0 and repeats >= 1, got 0 and 0"):
        measure_samples_s(_Recorder(), torch.ones(1, 2, 3), None, warmup=0, repeats=0)
    with pytest.raises(ValueError, match="unknown statistic 'mean' \\(allowed: min, median\\)"):
        measure_latency_s(_Recorder(), torch.ones(1, 2, 3), None, warmup=0, repeats=1,
                          statistic="mean")


def test_real_clock_measures_a_sleeping_module() -> None:
    import time

    class Sleeper(nn.Module):
        def forward(self, x: Tensor, lengths: Tensor | None) -> Tensor:
            time.sleep(0.004)
            return x

    got = measure_latency_s(Sleeper(), torch.ones(1), None, warmup=0, repeats=3)
    assert 0.004 <= got < 0.2
