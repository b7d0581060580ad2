"""The ONNX graphs an onnxruntime profile keeps: a resumed profile loads them instead of
exporting again; a graph file is only ever complete; other settings empty the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasx.predictors import load_device
from nasx.predictors.latency import profile as prof
from nasx.predictors.latency.graphs import GraphStore, graphs_dir
from nasx.search_spaces import arch_id, load_space


def test_the_store_exports_once_atomically_and_forgets_other_settings(tmp_path: Path) -> None:
    folder = graphs_dir(tmp_path, "host-cpu", "onnxruntime")
    assert folder == tmp_path / "latency-host-cpu-onnxruntime-graphs"
    calls: list[Path] = []

    def write(path: Path) -> None:
        calls.append(path)
        assert path.parent.parent == folder and path.parent.name.startswith(".export-")
        path.write_bytes(b"graph")

    store = GraphStore(folder, {"seed": 0})
    assert store.graph("abc", write) == folder / "abc.onnx"
    assert store.graph("abc", write) == folder / "abc.onnx"
    assert len(calls) == 1  # kept: not exported again
    assert json.loads((folder / "settings.json").read_text()) == {"seed": 0}

    def fail(path: Path) -> None:
        path.write_bytes(b"half a gr")
        raise KeyboardInterrupt  # interrupted half-way: no graph file, no partial folder

    with pytest.raises(KeyboardInterrupt):
        store.graph("def", fail)
    assert sorted(p.name for p in folder.iterdir()) == ["abc.onnx", "settings.json"]
    (folder / ".export-leftover").mkdir()  # a process killed mid-export leaves this
    assert GraphStore(folder, {"seed": 0}).path("abc").read_bytes() == b"graph"
    assert sorted(p.name for p in folder.iterdir()) == ["abc.onnx", "settings.json"]
    GraphStore(folder, {"seed": 1})  # other weights: the kept graphs are not theirs
    assert sorted(p.name for p in folder.iterdir()) == ["settings.json"]


def test_a_resumed_profile_does_not_export_the_kept_graphs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasx.export import graph_formats

    space = load_space("tiny")
    exported: list[str] = []
    real_export = graph_formats.export_onnx

    def counting_export(net, path: Path, length: int, **kw) -> None:  # type: ignore[no-untyped-def]
        exported.append(net.spec.id)
        real_export(net, path, length, **kw)

    monkeypatch.setattr(graph_formats, "export_onnx", counting_export)
    real_measure = prof.measure_samples_s
    timed: list[int] = []

    def interrupted_measure(*args, **kw) -> list[float]:  # type: ignore[no-untyped-def]
        timed.append(1)
        if len(timed) == 3:
            raise KeyboardInterrupt  # killed while timing the third subnet
        return real_measure(*args, **kw)

    def profile() -> prof.ProfileReport:
        return prof.profile_latency(space, device=load_device("host-cpu"), channels=12,
                                    classes=9, length=29, folder=tmp_path, samples=2,
                                    runtime="onnxruntime", rounds=2, warmup=0, repeats=1)

    monkeypatch.setattr(prof, "measure_samples_s", interrupted_measure)
    with pytest.raises(KeyboardInterrupt):
        profile()
    ids = [arch_id(a) for a in prof.profile_archs(space, 2, 0)]  # 4 subnets
    folder = tmp_path / "latency-host-cpu-onnxruntime-graphs"
    first = list(exported)
    assert len(first) == 3 and len(set(first)) == 3  # the third was exported, then timed
    assert sorted(p.stem for p in folder.glob("*.onnx")) == sorted(first)
    monkeypatch.setattr(prof, "measure_samples_s", real_measure)
    report = profile()
    resumed = exported[3:]
    assert resumed == [i for i in ids if i not in first]  # only the graph that was missing
    assert (report.measured, report.reused) == (6, 2)
    assert sorted(p.stem for p in folder.glob("*.onnx")) == sorted(ids)
    # the latencies file: every (subnet, round) once, as an uninterrupted profile writes it
    rows = [json.loads(x) for x in
            (tmp_path / "latency-host-cpu-onnxruntime-data.jsonl").read_text().splitlines()[1:]]
    assert sorted((r["id"], r["round"]) for r in rows) == sorted(
        (i, r) for i in ids for r in (0, 1))
    assert all(len(r["samples_s"]) == 1 for r in rows)
