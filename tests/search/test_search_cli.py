"""``nasx search`` and ``nasx inspect`` end to end on a tiny trained run."""

from __future__ import annotations

import importlib.util
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasx.cli import main
from nasx.predictors import CostModel, load_device
from nasx.search.archive import read_history
from nasx.search.cheapest import extreme_cost
from nasx.search.repair import GenomeRepair
from nasx.search_spaces import GenomeCodec, arch_id, load_space

BUDGETS = "stm32f746: sram<=12KB, flash<=70KB; stm32f746: latency<=1.5ms; host-cpu: latency<=1ms"
# host-cpu candidates are timed in eager torch here (fast); the onnxruntime default is tested in
# test_measured_host_latency_is_used_validated_and_refitted
SMALL = ["--evaluations", "120", "--population", "20", "--validate", "2", "--runtime", "torch"]
KEYS = {"accuracy", "accuracy_std", "latency_ms", "sram_kb", "flash_kb", "latency_label",
        "runtime"}


def pick_problems(doc: dict[str, Any]) -> list[str]:
    """``tools/check_picks.py``'s check of every budget's pick (the script is no package)."""
    path = Path(__file__).resolve().parents[2] / "tools" / "check_picks.py"
    spec = importlib.util.spec_from_file_location("check_picks_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pick_problems(doc)


def info_noise(run: Path) -> float:
    """The noise floor the picks read: the accuracy predictor's measured noise_sd."""
    info = json.loads((run / "predictors" / "accuracy" / "predictor.json").read_text())
    return info["info"]["holdout"]["measurement"]["noise_sd"]


def search(run: Path, *extra: str) -> int:
    return main(["search", "--run", str(run), "--budgets", BUDGETS, *SMALL, *extra])


def load(run: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    doc = json.loads((run / "search" / "pareto.json").read_text())
    return doc, read_history((run / "search" / "history.csv").read_text())


def meets(predicted: dict[str, Any], constraints: dict[str, float | None]) -> bool:
    return all(constraints[k] is None or predicted[k] <= constraints[k]
               for k in ("latency_ms", "sram_kb", "flash_kb"))


def test_search_writes_a_validated_feasible_front(run_copy: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert search(run_copy, "--rounds", "2") == 0
    out = capsys.readouterr().out
    assert "refitting the accuracy predictor" in out
    doc, history = load(run_copy)
    assert doc["nasx_pareto"] == 1 and doc["run"] == str(run_copy)
    space = load_space("tiny")
    codec = GenomeCodec(space)
    rep = GenomeRepair(codec)
    # history: 2 rounds x 2 devices x 120 evaluations, canonical genomes, ids that match
    assert len(history) == 480
    for r in ("1", "2"):
        for d in ("stm32f746", "host-cpu"):
            rows = [h for h in history if h["round"] == r and h["device"] == d]
            assert len(rows) == 120 and len({h["id"] for h in rows}) == 120
    for h in history[::37]:
        g = np.array([int(v) for v in h["genome"].split()])
        np.testing.assert_array_equal(rep(g[None])[0], g)
        assert h["id"] == arch_id(codec.decode(g))
    budgets = {b["name"]: b for b in doc["budgets"]}
    assert list(budgets) == ["stm32f746: sram<=12KB, flash<=70KB", "stm32f746: latency<=1.5ms",
                             "host-cpu: latency<=1ms"]
    models = {d: CostModel(space, 12, 9, length=29, device=load_device(d))
              for d in ("stm32f746", "host-cpu")}
    data = {json.loads(line)["id"]: json.loads(line)
            for line in (run_copy / "predictors" / "accuracy-data.jsonl").read_text().splitlines()}
    for device, label in (("stm32f746", "analytic"), ("host-cpu", "estimate")):
        subs = [s for s in doc["subnets"] if s["device"] == device]
        own = [b["constraints"] for b in doc["budgets"] if b["device"] == device]
        front = [s for s in subs if s["on_front"]]
        assert len(front) >= 1
        for s in subs:
            p = s["predicted"]
            assert set(p) == KEYS and p["latency_label"] == label
            assert s["id"] == arch_id(s["arch"])
            c = models[device].cost(s["arch"])  # the predicted costs are the analytic ones
            assert p["sram_kb"] == pytest.approx(c.sram_bytes / 1024)
            assert p["flash_kb"] == pytest.approx(c.flash_bytes / 1024)
            assert p["latency_ms"] == pytest.approx(c.latency_s * 1e3)
            assert any(meets(p, con) for con in own)  # feasible for one of the device's budgets
            v = s["validated"]
            if v is not None:
                assert v["accuracy"] == data[s["id"]]["val_acc"]
                assert (v["latency_ms"] is None) == (device != "host-cpu")
                assert v["latency_ms"] is None or v["latency_ms"] > 0
        for a in front:  # non-dominated on (error, latency)
            for b in front:
                ea, eb = 1 - a["predicted"]["accuracy"], 1 - b["predicted"]["accuracy"]
                la, lb = a["predicted"]["latency_ms"], b["predicted"]["latency_ms"]
                assert not (eb <= ea and lb <= la and (eb < ea or lb < la))
        assert sum(s["validated"] is not None for s in front) >= min(2, len(front))
    # each budget's best: the cheapest validated subnet within one paired standard error of
    # the lowest validation loss (tools/check_picks.py checks the rule on the whole document)
    assert pick_problems(doc) == []
    assert {b["pick"]["signal"] for b in doc["budgets"]} == {"loss"}
    broken = json.loads(json.dumps(doc))
    gaps = broken["budgets"][0]["pick"]["loss_gaps"]
    gaps[0]["gap"] += 1.0  # a recorded gap that is not the losses' difference
    assert any("recorded loss gap is not its validation loss minus the lowest" in line
               for line in pick_problems(broken))
    for b in doc["budgets"]:
        best = doc["subnets"][b["best"]]
        assert best["device"] == b["device"] and meets(best["predicted"], b["constraints"])
        assert best["validated"] is not None
        assert b["pick"]["noise_floor"] == info_noise(run_copy)
        if b["pick"]["best_validated_accuracy"] is None:  # measured over the limit (loaded)
            assert (f"budget '{b['name']}': no validated subnet meets it; the predicted pick "
                    f"{best['id']} stays") in out
        else:
            assert f"budget '{b['name']}': pick {best['id']} (validated " in out
        assert f"  picked as {b['pick']['rule']}" in out
    assert doc["settings"]["devices"] == {
        "stm32f746": {"latency": "analytic", "runtime": "c"},
        "host-cpu": {"latency": "estimate", "runtime": "torch"}}
    rounds = doc["rounds"]
    assert [(r["round"], r["device"]) for r in rounds] == [
        (1, "stm32f746"), (1, "host-cpu"), (2, "stm32f746"), (2, "host-cpu")]
    # The gap a perfect predictor would show comes from the predictor refitted last round.
    info = json.loads((run_copy / "predictors" / "accuracy" / "predictor.json").read_text())
    noise = info["info"]["holdout"]["measurement"]["noise_sd"]
    for r in rounds:
        assert r["mean_abs_gap"] >= abs(r["mean_gap"]) - 1e-12
        assert 0 <= r["unseen"] <= r["validated"]
    assert rounds[-1]["noise_abs_gap"] == pytest.approx(math.sqrt(2 / math.pi) * noise)
    # The last round used the predictor now on disk: "unseen" counts its validated subnets
    # that predictor was not fitted on.
    trained = set(info["info"]["train_ids"])
    assert len(trained) == info["info"]["n_train"]
    for r in rounds[-2:]:
        ids = [s["id"] for s in doc["subnets"]
               if s["device"] == r["device"] and s["validated"] is not None]
        assert len(ids) == r["validated"]
        assert r["unseen"] == sum(i not in trained for i in ids)
    assert (run_copy / "tb" / "search").is_dir()


def test_seeded_search_gives_the_same_history(searchable_run: Path, tmp_path: Path) -> None:
    import shutil

    texts = []
    for name in ("a", "b"):
        run = tmp_path / name
        shutil.copytree(searchable_run, run)
        assert main(["search", "--run", str(run), "--device", "stm32f746", "--max-sram-kb", "12",
                     "--rounds", "1", "--seed", "5", *SMALL]) == 0
        texts.append((run / "search" / "history.csv").read_text())
    assert texts[0] == texts[1]


def test_optuna_backend_writes_the_same_outputs(run_copy: Path, tmp_path: Path) -> None:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    journal = tmp_path / "optuna.log"
    assert search(run_copy, "--rounds", "1", "--backend", "optuna", "--storage",
                  f"journal:{journal}") == 0
    doc, history = load(run_copy)
    assert sorted(p.name for p in (run_copy / "search").iterdir()) == ["0001", "history.csv",
                                                                      "pareto.json"]
    assert set(doc) == {"nasx_pareto", "run", "subnets", "budgets", "settings", "rounds",
                        "search"}
    assert doc["settings"]["backend"] == "optuna"
    assert 0 < len(history) <= 240 and len(doc["budgets"]) == 3
    for s in doc["subnets"]:
        assert set(s) == {"index", "id", "arch", "device", "on_front", "predicted", "validated"}
    assert all(b["best"] is not None for b in doc["budgets"])
    studies = optuna.get_all_study_summaries(JournalStorage(JournalFileBackend(str(journal))))
    assert sorted(s.n_trials for s in studies) == [120, 120]
    ids = {h["id"] for h in history if h["device"] == "host-cpu"}
    (study,) = [s for s in studies if "host-cpu" in s.study_name]
    trials = optuna.load_study(study_name=study.study_name,
                               storage=JournalStorage(JournalFileBackend(str(journal)))).trials
    assert {t.user_attrs["arch_id"] for t in trials} == ids


def test_optuna_sqlite_storage(run_copy: Path, tmp_path: Path) -> None:
    import optuna

    db = tmp_path / "optuna.db"
    assert main(["search", "--run", str(run_copy), "--device", "stm32f746", "--backend",
                 "optuna", "--storage", f"sqlite:///{db}", "--evaluations", "20",
                 "--population", "10", "--rounds", "1", "--validate", "1"]) == 0
    (summary,) = optuna.get_all_study_summaries(f"sqlite:///{db}")
    assert summary.n_trials == 20 and summary.study_name.startswith("nasx-search stm32f746 ")


def test_impossible_budget_names_the_smallest_cost(run_copy: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    model = CostModel(load_space("tiny"), 12, 9, length=29, device=load_device("stm32f746"))
    smallest = extreme_cost(model, "sram").value
    assert main(["search", "--run", str(run_copy), "--budgets", "stm32f746: sram<=4KB"]) == 2
    err = capsys.readouterr().err
    assert err == (f"nasx: error: budget 'stm32f746: sram<=4KB' cannot be met: the smallest "
                   f"sram of any subnet of tiny on stm32f746 is {smallest:.6g} KB "
                   f"(whole-sequence, length 29), above the limit 4 KB; raise the limit to at "
                   f"least 5.84375 KB\n")
    # 5984 bytes: the DP's answer (the C runtime's arena peak + 4 KB engine), checked by brute
    # force elsewhere
    assert smallest == 5.84375
    assert not (run_copy / "search").exists()
    lat = extreme_cost(CostModel(load_space("tiny"), 12, 9, length=29,
                                 device=load_device("h100")), "latency").value
    assert main(["search", "--run", str(run_copy), "--device", "h100", "--max-latency-ms",
                 "0.01"]) == 2
    assert f"the smallest latency of any subnet of tiny on h100 is {lat:.6g} ms" in \
        capsys.readouterr().err


def test_an_earlier_search_is_never_replaced_silently(run_copy: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    folder = run_copy / "search"
    assert search(run_copy, "--rounds", "1") == 0
    first = (folder / "pareto.json").read_text()
    assert json.loads(first)["search"] == "0001"
    capsys.readouterr()
    assert search(run_copy, "--rounds", "1", "--seed", "1") == 2
    assert capsys.readouterr().err == (
        f"nasx: error: {folder / 'pareto.json'} holds an earlier search; pass --overwrite to "
        f"make a new search the latest (every search stays in its numbered folder under "
        f"{folder})\n")
    # before: one backup level (*.prev.*), so a third search lost the first one
    for seed in ("1", "2"):
        assert search(run_copy, "--rounds", "1", "--seed", seed, "--overwrite") == 0
    assert sorted(p.name for p in folder.iterdir()) == ["0001", "0002", "0003", "history.csv",
                                                        "pareto.json"]
    assert (folder / "0001" / "pareto.json").read_text() == first
    latest = (folder / "pareto.json").read_text()
    assert json.loads(latest)["search"] == "0003"
    assert (folder / "0003" / "pareto.json").read_text() == latest
    assert (folder / "0003" / "history.csv").read_bytes() == \
        (folder / "history.csv").read_bytes()
    assert (folder / "0002" / "history.csv").read_bytes() != \
        (folder / "history.csv").read_bytes()


def test_a_budget_no_subnet_meets_is_an_error_that_replaces_nothing(
        run_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # latency <= 0.39 ms needs 8-bit weights everywhere (the fastest subnet: 0.387 ms), flash
    # <= 34.2 KB needs 4-bit ones (the 8-bit fastest: 34.9 KB): each limit alone passes the
    # feasibility check, together no subnet of the space meets them
    folder = run_copy / "search"
    assert search(run_copy, "--rounds", "1") == 0
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    capsys.readouterr()
    budget = "stm32f746: latency<=0.39ms, flash<=34.2KB"
    assert main(["search", "--run", str(run_copy), "--budgets", budget, *SMALL, "--rounds",
                 "1", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"nasx: error: budget '{budget}': no subnet the search evaluated meets it (the closest "
        "found is ")
    closest = re.search(r"closest found is ([0-9a-f]{12}) \((.*?)\)\);", err)
    assert closest is not None and re.fullmatch(
        r"(latency [\d.]+ ms > 0\.39 ms|flash [\d.]+ KB > 34\.2 KB)(, flash [\d.]+ KB > "
        r"34\.2 KB)?", closest.group(2)), closest.group(2)
    assert err.endswith("relax the budget or search longer (--evaluations); the earlier search "
                        "results are unchanged\n")
    # before: exit 0, an empty "front sizes:" line, and pareto.json moved to pareto.prev.json
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize(("args", "message"), [
    (["--device", "nosuch"], "unknown device"),
    (["--device", "h100", "--population", "2"], "--population 2: give an integer >= 4"),
    (["--device", "h100", "--evaluations", "10"],
     "--evaluations 10 is below --population 100; give at least one generation's worth"),
    (["--device", "h100", "--storage", "sqlite:///x.db"],
     "--storage is for --backend optuna; drop it or add --backend optuna"),
    (["--max-sram-kb", "4"], "--max-latency-ms/--max-sram-kb/--max-flash-kb need --device; or "
                             "write the limits into --budgets"),
    (["--budgets", "h100: latency<=2"], "'latency<=2' has no unit; give ms or us"),
    (["--device", "h100", "--backend", "optuna", "--storage", "nosuchdb://x"],
     "--storage nosuchdb://x: cannot open it"),
])
def test_bad_input_is_one_line_and_exit_2(run_copy: Path, capsys: pytest.CaptureFixture[str],
                                          args: list[str], message: str) -> None:
    assert main(["search", "--run", str(run_copy), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_measured_host_latency_is_used_validated_and_refitted(run_copy: Path) -> None:
    from nasx.predictors.latency.data import LatencyDataset
    from nasx.predictors.latency.model import LatencyPredictor, data_file, predictor_file
    from nasx.predictors.latency.profile import profile_latency

    space = load_space("tiny")
    folder = run_copy / "predictors"
    # the default runtime of host-cpu: each subnet exported as model.onnx, run in onnxruntime
    report = profile_latency(space, device=load_device("host-cpu"), channels=12, classes=9,
                             length=29, folder=folder, samples=4, warmup=1, repeats=2,
                             rounds=2)
    assert report.predictor.runtime == "onnxruntime"
    assert main(["search", "--run", str(run_copy), "--device", "host-cpu", "--max-latency-ms",
                 "50", *SMALL[:-2], "--rounds", "2"]) == 0
    doc, history = load(run_copy)
    assert {h["latency_label"] for h in history} == {"measured"}
    assert doc["settings"]["devices"]["host-cpu"] == {"latency": "measured",
                                                      "runtime": "onnxruntime"}
    refitted = LatencyPredictor.load(predictor_file(folder, "host-cpu", "onnxruntime"), space)
    # how many candidates are new depends on the predicted latencies, which come from timings
    # (on a loaded machine the search measured only one that the profile had not)
    assert refitted.info["search_candidates"] >= 1
    assert refitted.info["n_train"] == report.n_train + refitted.info["search_candidates"]
    dataset = LatencyDataset(data_file(folder, "host-cpu", "onnxruntime"),
                             report.predictor.settings)
    codec = GenomeCodec(space)
    for s in doc["subnets"]:
        # the last round searched with the refitted predictor
        assert s["predicted"]["latency_label"] == "measured"
        assert s["predicted"]["runtime"] == "onnxruntime"
        assert s["predicted"]["latency_ms"] == pytest.approx(
            1e3 * refitted.predict(codec.encode(s["arch"])[None])[0], rel=1e-9)
        if s["validated"] is not None:
            assert s["validated"]["latency_ms"] == pytest.approx(
                1e3 * dataset.latency_s(s["id"], "min"), rel=1e-12)


def test_a_pinned_model_family_survives_the_search_refits(run_copy: Path, capsys) -> None:
    assert main(["predictor", "fit", "--run", str(run_copy), "--samples", "10", "--holdout",
                 "10", "--model", "ridge", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "ridge"
    assert [c["model"] for c in report["selection"]["candidates"]] == [
        f"ridge(lambda={r:g}n)" for r in (1e-4, 1e-3, 1e-2, 1e-1, 1.0)]
    assert search(run_copy, "--rounds", "2") == 0
    info = json.loads((run_copy / "predictors" / "accuracy" / "predictor.json").read_text())
    assert info["kind"] == "ridge" and info["info"]["kinds"] == ["ridge"]
    assert len(info["info"]["train_ids"]) > 10  # refitted with the validated subnets



def test_the_refits_weigh_the_subnets_the_search_validated(run_copy: Path) -> None:
    from nasx.predictors.accuracy.data import data_path, read_records, records_arrays
    from nasx.predictors.accuracy.fit import EMPHASIS_WEIGHT, load_run_predictor
    from nasx.predictors.accuracy.predictor import fit_accuracy_predictor

    before = json.loads((run_copy / "predictors" / "accuracy" / "predictor.json").read_text())
    assert before["info"]["emphasis"] == {"weight": EMPHASIS_WEIGHT, "ids": []}
    assert search(run_copy, "--rounds", "2") == 0
    space = load_space("tiny")
    pred = load_run_predictor(run_copy, space)
    info = pred.info
    stressed = info["emphasis"]["ids"]
    assert info["emphasis"]["weight"] == EMPHASIS_WEIGHT == 10.0
    # round 1 validated 2 front subnets + the budget picks per device: all weigh 10 in the refit
    assert 2 <= len(stressed) <= 2 * (2 + 3) and set(stressed) <= set(info["train_ids"])
    records = read_records(data_path(run_copy))
    train = [records[i] for i in info["train_ids"]]
    genomes, acc = records_arrays(train)
    weights = np.array([10.0 if r.id in set(stressed) else 1.0 for r in train])
    again = fit_accuracy_predictor(space, genomes, acc, seed=info["seed"], kinds=info["kinds"],
                                   weights=weights)
    plain = fit_accuracy_predictor(space, genomes, acc, seed=info["seed"], kinds=info["kinds"])
    np.testing.assert_array_equal(again.predict(genomes)[0], pred.predict(genomes)[0])
    assert not np.array_equal(plain.predict(genomes)[0], pred.predict(genomes)[0])
