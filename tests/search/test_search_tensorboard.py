"""``R/tb/search/``: front figures, overlaid hypervolume curves, one HParams experiment with a
session per validated or picked subnet, numeric columns as numbers, the test accuracy an export
adds; across ``R/tb/``: no empty event file, a description on every tag, no run at the root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tb_events import tb_problems
from test_search_cli import load, search

from nasx.cli import main


def _events(path: Path) -> list:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    return list(EventFileLoader(str(path)).Load())


def test_tensorboard_fronts_hypervolume_and_hparams(run_copy: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    assert search(run_copy, "--rounds", "2") == 0
    tb = run_copy / "tb" / "search"
    ea = EventAccumulator(str(tb), size_guidance={"images": 0})
    ea.Reload()
    assert set(ea.Tags()["images"]) == {"search/stm32f746/front", "search/host-cpu/front"}
    # the text summary: each budget's pick and rule, the predictor's tau beside the noise's
    doc, _ = load(run_copy)
    text = ea.Tensors("search/summary/text_summary")[0].tensor_proto.string_val[0].decode()
    for b in doc["budgets"]:
        assert f"| {b['name']} | {doc['subnets'][b['best']]['id']} |" in text
        assert f"- {b['name']}: {b['pick']['rule']}" in text
    assert "; the tau the validation split's noise allows: " in text
    assert [i.step for i in ea.Images("search/host-cpu/front")] == [1, 2]
    for r in (1, 2):  # one tag, one run per round: the rounds overlay
        curve = EventAccumulator(str(tb / f"round{r}"))
        curve.Reload()
        hv = curve.Scalars("search/stm32f746/hypervolume")
        assert [s.step for s in hv] == list(range(6))  # 120 evaluations / 20 per generation
        values = [s.value for s in hv]
        assert values == sorted(values) and 0 < values[-1] <= 1  # the archive only grows
    # every event file holds a summary value, and every tag a description; no run "."
    files = sorted((run_copy / "tb").rglob("events.out.tfevents.*"))
    assert {f.parent.relative_to(run_copy / "tb").parts[0] for f in files} == {
        "train", "subnets", "predictors", "search"}
    assert tb_problems(run_copy / "tb") == []
    # one experiment summary, in tb/search/hparams; a session per validated or picked subnet
    experiments, sessions = [], {}
    for f in files:
        for event in _events(f):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name != "hparams":
                    continue
                data = plugin_data_pb2.HParamsPluginData.FromString(
                    value.metadata.plugin_data.content)
                if data.HasField("experiment"):
                    experiments.append((f.parent, data.experiment))
                if data.HasField("session_start_info"):
                    sessions[f.parent.relative_to(tb / "hparams").as_posix()] = \
                        data.session_start_info.hparams
    assert [folder for folder, _ in experiments] == [tb / "hparams"]
    picked: dict[int, str] = {}
    for b in doc["budgets"]:
        picked[b["best"]] = "; ".join(x for x in (picked.get(b["best"]), b["name"]) if x)
    want = {f"{s['device']}/{s['index']:03d}-{s['id']}": s for s in doc["subnets"]
            if s["validated"] is not None or s["index"] in picked}
    assert set(sessions) == set(want)
    info = {h.name: h for h in experiments[0][1].hparam_infos}
    columns = {m.name.tag: m for m in experiments[0][1].metric_infos}
    assert columns["search_subnet/test_accuracy"].display_name == "test acc %"
    assert {"device", "pick", "round", "arch", "s0_ops", "s0_depth", "s0_width",
            "min_wbits", "min_abits"} <= set(info)
    assert info["s0_depth"].HasField("domain_interval")  # numbers: filtered by range
    assert info["device"].HasField("domain_discrete")
    for key, hparams in sessions.items():
        s = want[key]
        assert hparams["device"].string_value == s["device"]
        assert hparams["round"].number_value == 2.0
        assert hparams["s0_depth"].number_value == len(s["arch"]["stages"][0]["blocks"])
        assert hparams["pick"].string_value == picked.get(s["index"], "-")


def test_an_export_adds_its_test_accuracy_to_the_hparams_sessions(
        run_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert search(run_copy) == 0
    doc, _ = load(run_copy)
    budget = doc["budgets"][0]
    picked = doc["subnets"][budget["best"]]
    hparams = run_copy / "tb" / "search" / "hparams"
    for _ in range(2):  # an export again replaces the value, it does not add a second file
        assert main(["export", "--run", str(run_copy), "--pick", budget["name"],
                     "--format", "torch", "--overwrite"]) == 0
    metrics = json.loads((run_copy / "exports" / picked["id"] / "metrics.json").read_text())
    with_test = {}
    for f in sorted(hparams.rglob("*.test-accuracy")):
        ea = EventAccumulator(str(f))
        ea.Reload()
        with_test[f.parent.relative_to(hparams).as_posix()] = [
            (e.step, e.value) for e in ea.Scalars("search_subnet/test_accuracy")]
        assert ea.SummaryMetadata("search_subnet/test_accuracy").summary_description.endswith(
            "display only: the search never selects by it (it picks on validation accuracy)")
    # every session of the exported subnet (one per device that lists it), and only those
    want = {f"{s['device']}/{s['index']:03d}-{s['id']}" for s in doc["subnets"]
            if s["id"] == picked["id"] and (hparams / s["device"]
                                             / f"{s['index']:03d}-{s['id']}").is_dir()}
    assert set(with_test) == want and want
    assert all(v == [(0, pytest.approx(100 * metrics["accuracy"]["test"]))]
               for v in with_test.values())
    # a damaged pareto.json does not fail an export that does not read it (by name): it is said
    (run_copy / "search" / "pareto.json").write_text("{")
    capsys.readouterr()
    assert main(["export", "--run", str(run_copy), "--pick", "smallest", "--format",
                 "torch"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if "note:" in line]
    assert len(notes) == 1 and notes[0].startswith(
        "  note: test accuracy not added to TensorBoard's HParams table (")
