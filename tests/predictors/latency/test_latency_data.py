"""The latency dataset: interleaved rounds, resume without re-measuring, settings checks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from nasx.errors import NasxError
from nasx.predictors.latency.data import (
    LatencyDataset,
    ProfileSettings,
    measure_rounds,
    space_fingerprint,
)
from nasx.search_spaces import Arch, GenomeCodec, arch_id, load_space, random_arch

SPACE = load_space("tiny")
SETTINGS = ProfileSettings(device="host-cpu", space="tiny",
                           space_fingerprint=space_fingerprint(SPACE), channels=12, classes=9,
                           length=29, batch=1, threads=1, warmup=2, repeats=3, torch="2.13.0")


def _archs(n: int) -> list[Arch]:
    rng = np.random.default_rng(3)
    return [random_arch(SPACE, rng) for _ in range(n)]


class _KilledError(Exception):
    pass


class _Measure:
    """Fake measurement: samples derived from the arch id and the call number; can 'die'."""

    def __init__(self, die_after: int | None = None) -> None:
        self.calls: list[str] = []
        self.die_after = die_after

    def __call__(self, arch: Arch) -> list[float]:
        if self.die_after is not None and len(self.calls) == self.die_after:
            raise _KilledError
        self.calls.append(arch_id(arch))
        base = int(arch_id(arch)[:4], 16) * 1e-6
        return [base + 1e-3 * len(self.calls), base, base + 2e-3]


def test_every_arch_once_per_round_in_a_seeded_order(tmp_path: Path) -> None:
    archs = _archs(5)
    ds = LatencyDataset(tmp_path / "d.jsonl", SETTINGS)
    m = _Measure()
    assert measure_rounds(ds, archs, GenomeCodec(SPACE), m, rounds=3, seed=0) == 15
    ids = [arch_id(a) for a in archs]
    rounds = [m.calls[5 * r:5 * r + 5] for r in range(3)]
    assert all(sorted(r) == sorted(ids) for r in rounds)
    assert rounds[0] != rounds[1]  # each round has its own order
    lines = (tmp_path / "d.jsonl").read_text().splitlines()
    assert len(lines) == 16 and json.loads(lines[0])["settings"] == SETTINGS.to_dict()
    a = ids[0]
    pooled = [s for r in range(3) for s in ds.samples_by_round(a)[r]]
    assert ds.latency_s(a, "min") == min(pooled)
    assert ds.latency_s(a, "median") == sorted(pooled)[4]
    genomes, lat = ds.table(ids[:2], "min")
    codec = GenomeCodec(SPACE)
    assert genomes.tolist() == [codec.encode(x).tolist() for x in archs[:2]]
    assert lat.tolist() == [ds.latency_s(i, "min") for i in ids[:2]]


def test_killed_profile_resumes_without_remeasuring(tmp_path: Path) -> None:
    archs, codec, path = _archs(6), GenomeCodec(SPACE), tmp_path / "d.jsonl"
    first = _Measure(die_after=8)
    with pytest.raises(_KilledError):
        measure_rounds(LatencyDataset(path, SETTINGS), archs, codec, first, rounds=3, seed=1)
    with path.open("a") as f:  # a half-written record, as a kill mid-write leaves it
        f.write('{"id": "abc", "genome": [1, 2')
    again = LatencyDataset(path, SETTINGS)
    assert len(again) == 6 and path.read_text().endswith("\n")
    second = _Measure()
    assert measure_rounds(again, archs, codec, second, rounds=3, seed=1) == 18 - 8
    assert not set(zip(first.calls, [0] * 6 + [1] * 2, strict=True)) & set(
        zip(second.calls, [1] * 4 + [2] * 6, strict=True))
    third = _Measure()
    reopened = LatencyDataset(path, SETTINGS)
    assert measure_rounds(reopened, archs, codec, third, rounds=3, seed=1) == 0
    assert third.calls == []
    assert len(path.read_text().splitlines()) == 1 + 18


def test_other_settings_are_refused_with_the_differing_key(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    LatencyDataset(path, SETTINGS)
    other = dataclasses.replace(SETTINGS, length=64)
    with pytest.raises(NasxError) as err:
        LatencyDataset(path, other)
    assert str(err.value) == (
        f"{path} was measured with length=29, not 64; profile with the same settings to extend "
        "it, or move the file away to start a new dataset")
    path.write_text('{"something": 1}\n')
    with pytest.raises(NasxError, match="not a nasx latency dataset"):
        LatencyDataset(path, SETTINGS)


def test_the_runtime_is_a_setting_and_older_files_were_torch(tmp_path: Path) -> None:
    raw = SETTINGS.to_dict()
    assert raw["runtime"] == "torch"
    del raw["runtime"]  # a dataset written before runtimes were recorded measured eager torch
    assert ProfileSettings.from_dict(raw, "old.jsonl") == SETTINGS
    with pytest.raises(NasxError) as err:
        ProfileSettings.from_dict({**raw, "runtime": "tflite"}, "x.jsonl")
    assert str(err.value) == ("x.jsonl: settings.runtime 'tflite' is not a runtime (allowed: "
                              "onnxruntime, torch, pt2, c); profile again")
    path = tmp_path / "d.jsonl"
    LatencyDataset(path, SETTINGS)
    with pytest.raises(NasxError) as err:
        LatencyDataset(path, dataclasses.replace(SETTINGS, runtime="onnxruntime"))
    assert str(err.value) == (f"{path} was measured with runtime='torch', not 'onnxruntime'; "
                              "profile with the same settings to extend it, or move the file "
                              "away to start a new dataset")
