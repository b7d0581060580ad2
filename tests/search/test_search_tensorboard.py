"""``R/tb/search/``: front figures, overlaid hypervolume curves, one HParams experiment with a
session per validated or picked subnet, numeric columns as numbers, no empty event file."""

from __future__ import annotations

from pathlib import Path

from test_search_cli import load, search


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
    # every event file holds events besides its version header
    files = sorted((run_copy / "tb").rglob("events.out.tfevents.*"))
    assert files and all(len(_events(f)) > 1 for f in files)
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
