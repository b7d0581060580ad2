"""The accuracy dataset: values equal nasx eval's, a killed build resumes evaluating nothing
twice, torn and damaged lines, seeded distinct sampling, and round-robin sharding over ranks."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasx.errors import NasxError
from nasx.predictors.accuracy import data as ad
from nasx.predictors.accuracy.fit import build_run_dataset
from nasx.runs.trained import TrainedRun, load_trained_run
from nasx.search_spaces import GenomeCodec, arch_id, count_subnets, load_space, space_from_dict
from nasx.train.distributed import Ranks
from nasx.train.evaluate import calibration_batches, evaluate_subnets

REAL_EVALUATE = ad.evaluate_subnet


class Killed(BaseException):
    """Stands for the process being killed (not an Exception, so nothing catches it)."""


class Counter:
    """Wraps ``evaluate_subnet``: counts calls per arch id, can raise at the n-th call."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.ids: list[str] = []
        self.stop_at = stop_at

    def __call__(self, run: TrainedRun, arch: Any, *rest: Any) -> ad.SubnetRecord:
        if self.stop_at is not None and len(self.ids) + 1 == self.stop_at:
            raise Killed  # the process is killed while evaluating this subnet
        self.ids.append(arch_id(arch))
        return REAL_EVALUATE(run, arch, *rest)


def test_records_match_nasx_eval_and_a_killed_build_resumes(run: TrainedRun,
                                                             monkeypatch) -> None:
    archs = ad.sample_archs(run.space, 12, seed=0, stream=ad.TRAIN_STREAM)
    first = Counter(stop_at=6)
    monkeypatch.setattr(ad, "evaluate_subnet", first)
    with pytest.raises(Killed):
        ad.build_records(run, archs, progress=False)
    path = ad.data_path(run.run_dir)
    assert len(path.read_text().splitlines()) == 5  # every finished subnet is on disk
    second = Counter()
    monkeypatch.setattr(ad, "evaluate_subnet", second)
    records = ad.build_records(run, archs + archs[:3], progress=False)  # duplicates too
    assert first.ids + second.ids == [arch_id(a) for a in archs]  # each evaluated once
    assert len(second.ids) == 7
    assert list(records) == [arch_id(a) for a in archs]
    # The same numbers as nasx eval's path: BatchNorm recalibrated, validation split.
    cfg = run.cfg
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, "cpu")
    want = evaluate_subnets(run.net, [(arch_id(a), a) for a in archs], run.splits.val, calib)
    codec = GenomeCodec(run.space)
    for w, a in zip(want, archs, strict=True):
        rec = records[w.arch_id]
        assert (rec.val_acc, rec.val_loss, rec.val_n) == (w.accuracy, w.loss, w.n)
        assert np.array_equal(rec.correct(), w.correct) and w.correct.mean() == w.accuracy
        # per-sequence losses: float16 of the evaluation's, and their mean is the loss
        assert np.array_equal(rec.losses(), w.losses.astype(np.float16).astype(np.float32))
        assert abs(float(w.losses.astype(np.float64).mean()) - w.loss) < 1e-5
        assert rec.genome == tuple(codec.encode(a))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert list(lines[0]) == ["id", "genome", "val_acc", "val_loss", "val_n", "val_correct",
                              "val_losses"]
    # evaluate_archs: records in order, nothing evaluated again.
    third = Counter()
    monkeypatch.setattr(ad, "evaluate_subnet", third)
    got = ad.evaluate_archs(run, [archs[4], archs[0], archs[4]], progress=False)
    assert got == [records[arch_id(archs[i])] for i in (4, 0, 4)] and third.ids == []


def test_a_torn_last_line_is_dropped_and_a_damaged_line_is_an_error(run: TrainedRun,
                                                                    monkeypatch) -> None:
    archs = ad.sample_archs(run.space, 3, seed=1, stream=ad.TRAIN_STREAM)
    ad.build_records(run, archs[:2], progress=False)
    path = ad.data_path(run.run_dir)
    whole = path.read_text()
    path.write_text(whole + '{"id": "abc", "geno')  # killed mid-write
    assert list(ad.read_records(path)) == [arch_id(a) for a in archs[:2]]
    counter = Counter()
    monkeypatch.setattr(ad, "evaluate_subnet", counter)
    ad.build_records(run, archs, progress=False)
    assert counter.ids == [arch_id(archs[2])]
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["id"] for line in lines)
    path.write_text(whole.replace('"val_acc"', '"acc"', 1))
    with pytest.raises(NasxError, match=r"accuracy-data.jsonl:1: not a subnet record "
                       r"\(KeyError: 'val_acc'\); delete the line or the file to re-evaluate$"):
        ad.read_records(path)
    first = json.loads(whole.splitlines()[0])
    path.write_text(json.dumps(first | {"val_losses": first["val_losses"][:-4]}) + "\n")
    with pytest.raises(NasxError, match=r"accuracy-data.jsonl:1: not a subnet record "
                       r"\(ValueError: \d+ bytes of losses for \d+ sequences; want \d+\); "
                       r"delete the line or the file to re-evaluate$"):
        ad.read_records(path)
    path.write_text(whole)
    with pytest.raises(NasxError, match=r":1: genome of 53 genes, the run's space has 65; the "
                       r"file belongs to another space$"):
        ad.read_records(path, genome_length=65)


def test_sampling_is_seeded_distinct_and_prefix_stable() -> None:
    space = load_space("tiny")
    a = ad.sample_archs(space, 40, seed=3, stream=0)
    ids = [arch_id(x) for x in a]
    assert len(set(ids)) == 40
    assert [arch_id(x) for x in ad.sample_archs(space, 15, seed=3, stream=0)] == ids[:15]
    assert set(ids).isdisjoint(arch_id(x) for x in ad.sample_archs(space, 40, seed=3, stream=1))
    excluded = ad.sample_archs(space, 40, seed=3, stream=0, exclude=frozenset(ids[:5]))
    assert set(ids[:5]).isdisjoint(arch_id(x) for x in excluded)
    two = space_from_dict({"name": "two", "stem": {"width": [4], "kernel": [3]},
                           "stages": [{"depth": [1], "width": [8], "ops": ["conv", "lstm"]}],
                           "ops": {"conv": {"kernel": [3], "expand": [2]},
                                   "lstm": {"hidden": [0.5]}}})
    assert count_subnets(two) == 2
    assert len({arch_id(x) for x in ad.sample_archs(two, 2, 0, 0)}) == 2
    with pytest.raises(NasxError, match=r"^space 'two' has 2 subnets; cannot sample 2 "
                       r"distinct ones besides 1 others; ask for fewer$"):
        ad.sample_archs(two, 2, 0, 0, exclude=frozenset({"x"}))


@pytest.mark.parametrize("world", [2, 3])
def test_round_robin_shards_are_evaluated_once_and_merged_by_rank_0(
        run: TrainedRun, world: int, monkeypatch) -> None:
    assert sorted(i for r in range(world) for i in ad.round_robin(7, Ranks(r, world))) == \
        list(range(7))
    assert ad.round_robin(7, Ranks(1, 3)) == [1, 4]
    archs = ad.sample_archs(run.space, 7, seed=2, stream=0)
    codec = GenomeCodec(run.space)
    path = ad.data_path(run.run_dir)
    # Ranks 1..world-1 run first; their per-round results wait in `sent` for rank 0's gather.
    sent: dict[int, list[Any]] = {}
    evaluated: dict[int, list[str]] = {}
    for r in [*range(1, world), 0]:
        counter = Counter()
        monkeypatch.setattr(ad, "evaluate_subnet", counter)
        rounds = iter(range(100))

        def gather(ranks: Ranks, value: Any, rounds: Any = rounds) -> list[Any] | None:
            k = next(rounds)
            if not ranks.main:
                sent.setdefault(k, []).append(value)
                return None
            return [value, *sent[k]]

        ad._evaluate_rounds(run, archs, codec, path, Ranks(r, world), gather, progress=False)
        evaluated[r] = counter.ids
        if r:
            assert not path.exists()  # only rank 0 writes
    for r in range(world):
        assert evaluated[r] == [arch_id(archs[i]) for i in ad.round_robin(7, Ranks(r, world))]
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [arch_id(a) for a in archs]
    assert len(sent) == -(-7 // world)  # ceil: every rank takes part in every round
    assert np.isclose(sum(json.loads(line)["val_acc"] for line in lines),
                      sum(r.val_acc for r in ad.read_records(path).values()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_torchrun_processes_build_the_same_records_as_one(tiny_run: Path,
                                                              tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for copy in (one, two):
        shutil.copytree(tiny_run, copy)
    build_run_dataset(load_trained_run(one), samples=10, holdout=10, seed=0, progress=False)
    args = ["predictor", "fit", "--samples", "10", "--holdout", "10", "--format", "json"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}", "-m", "nasx", "--", *args,
           "--run", str(two)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count('"n_train"') == 1  # rank 0 alone prints
    a, b = ad.read_records(ad.data_path(one)), ad.read_records(ad.data_path(two))
    assert list(a) == list(b) and len(a) == 20  # rank 0 writes in pending order
    assert all(a[k] == b[k] for k in a)
