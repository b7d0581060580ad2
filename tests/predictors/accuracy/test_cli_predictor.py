"""``nasx predictor fit`` / ``show`` end to end on a tiny run, and their one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from nasx.cli import main
from nasx.predictors.accuracy.data import data_path, read_records, records_arrays
from nasx.predictors.accuracy.fit import load_run_predictor, split_archs
from nasx.predictors.accuracy.rank_metrics import rank_metrics
from nasx.predictors.accuracy.reliability import split_half_reliability
from nasx.search_spaces import arch_id, load_space


def _run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("argv", "message"), [
    (["fit", "--run", "{missing}"], "nasx: error: '{missing}' is not a nasx train run folder "
     "(no config.yaml and space.yaml); give the --out folder of nasx train\n"),
    (["fit", "--run", "{run}", "--samples", "9"],
     "nasx: error: --samples 9: give at least 10 training subnets\n"),
    (["fit", "--run", "{run}", "--holdout", "0"],
     "nasx: error: --holdout 0: give at least 10 held-out subnets\n"),
    (["fit", "--run", "{run}", "--samples", "ten"],
     "nasx predictor fit: error: argument --samples: invalid integer 'ten': give an integer; "
     "see 'nasx predictor fit --help'\n"),
    (["fit", "--run", "{run}", "--seed", "-1"],
     "nasx predictor fit: error: argument --seed: invalid seed '-1': give an integer >= 0; "
     "see 'nasx predictor fit --help'\n"),
    (["show", "--run", "{missing}"], "nasx: error: '{missing}' is not a nasx train run folder "
     "(no space.yaml); give the --out folder of nasx train\n"),
    (["show", "--run", "{run}"], "nasx: error: no accuracy predictor in "
     "'{run}/predictors/accuracy'; fit one with nasx predictor fit --run {run}\n"),
])
def test_errors_are_one_line_with_exit_status_2(capsys, tiny_run: Path, tmp_path: Path,
                                                argv: list[str], message: str) -> None:
    names = {"missing": tmp_path / "nope", "run": tiny_run}
    code, out, err = _run(capsys, "predictor", *[a.format(**names) for a in argv])
    assert (code, out, err) == (2, "", message.format(**names))
    assert not (tiny_run / "predictors").exists()  # nothing written on bad input


def test_fit_show_and_extend(capsys, tiny_run: Path) -> None:
    code, out, err = _run(capsys, "predictor", "fit", "--run", tiny_run, "--samples", "10",
                          "--holdout", "10", "--seed", "1", "--format", "json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert (report["n_train"], report["n_holdout"]) == (10, 10)
    assert report["kind"] in ("mlp", "ridge", "trees") and report["model"] == \
        report["selection"]["chosen"]
    assert len(report["selection"]["candidates"]) == 7
    records = read_records(data_path(tiny_run))
    assert len(records) == 20
    space = load_space(tiny_run / "space.yaml")
    train, held = split_archs(space, 10, 10, 1)
    assert list(records) == [arch_id(a) for a in train + held]
    # The printed scores are those of the saved predictor on the held-out records.
    predictor = load_run_predictor(tiny_run, space)
    assert predictor is not None and predictor.kind == report["kind"]
    genomes, acc = records_arrays([records[arch_id(a)] for a in held])
    want = rank_metrics(predictor.predict(genomes)[0], acc)
    for key in ("kendall_tau", "spearman", "rmse"):
        assert report[key] == pytest.approx(want[key]) or (
            report[key] is None and np.isnan(want[key]))
    # The measurement precision is that of the held-out records' stored correctness, which
    # agrees with their accuracies.
    held_records = [records[arch_id(a)] for a in held]
    matrix = np.array([r.correct() for r in held_records])  # (10, n_val)
    assert np.allclose(matrix.mean(axis=1), acc)
    want_rel = split_half_reliability(matrix, seed=1)
    assert report["measurement"] == (None if want_rel is None else want_rel.as_json())
    events = EventAccumulator(str(tiny_run / "tb" / "predictors"), size_guidance={"images": 0})
    events.Reload()
    assert "predictor/accuracy" in events.Tags()["images"]
    assert [e.step for e in events.Images("predictor/accuracy")] == [10]
    assert "predictor/accuracy/rmse" in events.Tags()["scalars"]
    assert events.SummaryMetadata("predictor/accuracy/rmse").summary_description == (
        "root mean square error of the predicted held-out validation accuracy, as a fraction "
        "(0.01 = 1 percentage point)")
    assert events.SummaryMetadata("predictor/accuracy").summary_description.startswith(
        "held-out subnets: predicted against true validation accuracy (fractions, 0 to 1)")
    assert not list((tiny_run / "tb").glob("events.*"))  # no run "." at the tb root

    code, out, _ = _run(capsys, "predictor", "show", "--run", tiny_run)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"predictor: {tiny_run}/predictors/accuracy (76 features)"
    assert lines[1] == f"dataset: {data_path(tiny_run)} (20 subnets evaluated)"
    assert lines[2] == "fitted on 10 subnets (seed 1, weights supernet.safetensors)"
    assert lines[-2].startswith(f"held-out (10 subnets): Kendall tau "
                                f"{report['kendall_tau']:.3f}  Spearman")
    assert lines[-1].startswith("measurement: ")

    # More samples extend the same stream: only the 4 new subnets are evaluated.
    code, out, _ = _run(capsys, "predictor", "fit", "--run", tiny_run, "--samples", "14",
                        "--holdout", "10", "--seed", "1")
    assert code == 0
    assert out.splitlines()[0] == (f"dataset: {data_path(tiny_run)} (14 training + 10 "
                                   "held-out subnets)")
    assert out.splitlines()[-3].startswith("held-out (10 subnets): Kendall tau ")
    assert want_rel is not None  # the tiny run's held-out subnets differ in accuracy
    assert out.splitlines()[-2] == (
        f"measurement: accuracy on {matrix.shape[1]} validation sequences, reliability "
        f"{want_rel.reliability:.3f} over the 10 held-out subnets (noise "
        f"{100 * want_rel.noise_sd:.1f} points per subnet); measured accuracies rank these "
        f"subnets by their accuracy on new data with Kendall tau about "
        f"{want_rel.tau_expected:.3f}")
    assert len(data_path(tiny_run).read_text().splitlines()) == 24
    assert list(read_records(data_path(tiny_run)))[20:] == [
        arch_id(a) for a in split_archs(space, 14, 10, 1)[0][10:]]
