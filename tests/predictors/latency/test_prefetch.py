"""Graphs exported ahead of an onnxruntime profile (by a child process while the supernet
trains, then from the other end in the parent) are the ones the profile times: it exports
none of them again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nasx.predictors import load_device
from nasx.predictors.latency import profile as prof
from nasx.predictors.latency.prefetch import (
    LOG_FILE,
    GraphJob,
    GraphPrefetch,
    export_profile_graphs,
)
from nasx.search_spaces import arch_id, dump_space_yaml, load_space


def _job(tmp_path: Path, samples: int) -> GraphJob:
    space_file = tmp_path / "space.yaml"  # as a run folder holds it
    space_file.write_text(dump_space_yaml(load_space("tiny")))
    return GraphJob(space_file=str(space_file), folder=str(tmp_path / "predictors"),
                    device="host-cpu", runtime="onnxruntime", channels=12, classes=9,
                    length=29, samples=samples, seed=0)


def _kept(job: GraphJob) -> list[str]:
    return sorted(p.stem for p in job.graphs_folder().glob("*.onnx"))


def test_each_end_of_the_list_exports_what_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasx.predictors.latency import prefetch

    def fake_export(static, store, **kw) -> Path:  # type: ignore[no-untyped-def]
        return store.graph(arch_id(static.arch), lambda path: path.write_bytes(b"graph"))

    monkeypatch.setattr(prefetch, "kept_onnx_graph", fake_export)
    job = _job(tmp_path, samples=4)
    assert GraphJob.from_json(job.to_json()) == job
    ids = [arch_id(a) for a in prof.profile_archs(load_space("tiny"), 4, 0)]  # 6 subnets
    asked: list[int] = []

    def after_two() -> bool:
        asked.append(1)
        return len(asked) > 2

    assert export_profile_graphs(job, reverse=True, stop=after_two) == 2
    assert _kept(job) == sorted(ids[4:])  # from the list's end
    assert export_profile_graphs(job) == 4  # the rest; the kept ones are skipped
    assert export_profile_graphs(job, reverse=True) == 0
    assert _kept(job) == sorted(ids)


def test_the_profile_times_the_graphs_the_child_and_the_parent_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _job(tmp_path, samples=1)
    prefetch = GraphPrefetch(job)
    assert prefetch.finish() == 0 and not prefetch.running()
    ids = [arch_id(a) for a in prof.profile_archs(load_space("tiny"), 1, 0)]  # 3 subnets
    assert _kept(job) == sorted(ids)
    log = (job.graphs_folder() / LOG_FILE).read_text()
    child = int(re.fullmatch(r"exported (\d) graphs\n", log).group(1))  # type: ignore[union-attr]
    assert 1 <= child <= 3  # the parent took the rest from the other end

    from nasx.export import graph_formats

    def no_export(*args: object, **kw: object) -> None:
        raise AssertionError("the profile exported a graph that was kept")

    monkeypatch.setattr(graph_formats, "export_onnx", no_export)
    report = prof.profile_latency(load_space("tiny"), device=load_device("host-cpu"),
                                  channels=12, classes=9, length=29,
                                  folder=Path(job.folder), samples=1, runtime="onnxruntime",
                                  rounds=1, warmup=0, repeats=1)
    assert (report.measured, report.reused) == (3, 0)


def test_a_cancelled_prefetch_stops_its_child(tmp_path: Path) -> None:
    prefetch = GraphPrefetch(_job(tmp_path, samples=40))
    prefetch.cancel()
    assert not prefetch.running() and prefetch.process.returncode != 0


def test_quickstart_prefetches_only_onnxruntime_graphs_on_a_spare_core(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from nasx.config import RunConfig, load_config
    from nasx.quickstart import STAGES, PipelineSettings, prefetch_job

    splits = SimpleNamespace(channels=12, num_classes=9, max_length=29)
    cfg = load_config(RunConfig, None, ["space=tiny", "seed=3"])  # train.threads: 1
    every = STAGES[1:]

    def job(settings: PipelineSettings, stages: tuple[str, ...] = every, cores: int = 2,
            c: RunConfig = cfg) -> GraphJob | None:
        return prefetch_job(tmp_path, c, splits, settings, stages, cores)

    assert job(PipelineSettings(profile_samples=7)) == GraphJob(
        space_file=str(tmp_path / "space.yaml"), folder=str(tmp_path / "predictors"),
        device="host-cpu", runtime="onnxruntime", channels=12, classes=9, length=29,
        samples=7, seed=3)
    assert job(PipelineSettings(), cores=1) is None  # training takes the only core
    assert job(PipelineSettings(), cores=16,
               c=load_config(RunConfig, None, ["train.threads=null"])) is None  # all cores
    assert job(PipelineSettings(), cores=1,
               c=load_config(RunConfig, None, ["train.device=cuda"])) is None
    assert job(PipelineSettings(), c=load_config(RunConfig, None, ["train.device=cuda"]))
    assert job(PipelineSettings(runtime="torch")) is None  # nothing to export
    assert job(PipelineSettings(), stages=("profile",)) is not None
    assert job(PipelineSettings(), stages=()) is None  # --until train
    assert job(PipelineSettings(prefetch=False)) is None  # --no-prefetch


def test_a_prefetch_that_cannot_start_warns_and_the_quickstart_goes_on(tmp_path: Path) -> None:
    from dataclasses import replace

    from nasx.quickstart import start_prefetch

    missing = replace(_job(tmp_path, samples=1), space_file=str(tmp_path / "gone.yaml"))
    said: list[str] = []
    assert start_prefetch(missing, said.append) is None
    assert len(said) == 1 and said[0].startswith(
        "warning: the profile's graphs are not exported during training (")
    assert said[0].endswith("); the profile stage exports them")
