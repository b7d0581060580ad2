"""`nasx profile`: a real small measurement run writes its files; errors are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasx.cli import main
from nasx.config import RunConfig, dump_config
from nasx.predictors.latency.data import space_fingerprint
from nasx.predictors.latency.model import LatencyPredictor, find_latency_predictor
from nasx.search_spaces import dump_space_yaml, load_space

FAST = ["--rounds", "2", "--warmup", "0", "--repeats", "2", "--runtime", "torch"]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_profile_measures_fits_saves_and_resumes(capsys, tmp_path: Path) -> None:
    out_dir = tmp_path / "prof"
    code, out, err = _run(capsys, "profile", "--space", "tiny", "--samples", "8", *FAST,
                          "--out", str(out_dir), "--format", "json")
    assert code == 0, err
    rep = json.loads(out)
    assert (rep["subnets"], rep["measured"], rep["reused"]) == (10, 20, 0)
    assert (rep["n_train"], rep["n_holdout"], rep["holdout"]["n"]) == (8, 2, 2)
    assert rep["input"] == [1, 12, 29] and rep["statistic"] == "min"
    assert rep["runtime"] == "torch"
    data = (out_dir / "latency-host-cpu-torch-data.jsonl").read_text().splitlines()
    assert len(data) == 1 + 10 * 2
    header = json.loads(data[0])["settings"]
    assert (header["space"], header["space_fingerprint"], header["length"], header["threads"],
            header["repeats"], header["runtime"]) == (
        "tiny", space_fingerprint(load_space("tiny")), 29, 1, 2, "torch")
    rows = [json.loads(x) for x in data[1:]]
    assert all(len(r["samples_s"]) == 2 and min(r["samples_s"]) > 0 for r in rows)
    predictor = LatencyPredictor.load(out_dir / "latency-host-cpu-torch.json",
                                      load_space("tiny"))
    assert predictor.info["holdout"] == rep["holdout"] and predictor.info["n_train"] == 8
    # the same command again reuses every measurement; one more round measures only that round
    code, out, _ = _run(capsys, "profile", "--space", "tiny", "--samples", "8", "--rounds", "3",
                        "--warmup", "0", "--repeats", "2", "--runtime", "torch", "--out",
                        str(out_dir))
    assert code == 0
    assert "measured   10 (subnet, round) pairs now, 20 reused from the file" in out
    assert "held out   2 subnets: MAPE " in out


def test_profile_with_a_run_writes_into_the_run_in_onnxruntime(capsys, tmp_path: Path) -> None:
    # host-cpu's runtime is onnxruntime: each subnet is exported as model.onnx and timed there
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(dump_config(RunConfig()))
    (run / "space.yaml").write_text(dump_space_yaml(load_space("tiny")))
    code, out, err = _run(capsys, "profile", "--run", str(run), "--samples", "1", "--rounds", "1",
                          "--warmup", "0", "--repeats", "1")
    assert code == 0, err
    assert out.startswith("profiled tiny on host-cpu in onnxruntime: input (batch 1, ")
    assert f"saved      {run / 'predictors' / 'latency-host-cpu-onnxruntime.json'}" in out
    assert "held out   none (give --samples >= 4 to hold some out)" in out
    space = load_space(run / "space.yaml")
    assert find_latency_predictor(run, "host-cpu", space, "torch") is None
    found = find_latency_predictor(run, "host-cpu", space, "onnxruntime")
    assert found is not None and (found.channels, found.classes, found.length) == (12, 9, 29)
    assert found.runtime == "onnxruntime" and found.settings.runtime == "onnxruntime"


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--space", "tiny", "--device", "nrf52840"],  # a Cortex-M4: no emulator profile
      "nasx: error: device 'nrf52840' is not this machine, so it cannot be measured; its "
      "latency comes from the analytic model, labelled 'analytic' (`nasx cost --device "
      "nrf52840`); measure with --device host-cpu\n"),
     (["--space", "tiny", "--device", "stm32h743"],  # a Cortex-M7: QEMU needs a trained run
      "nasx: error: --device stm32h743 profiles the subnets of a trained run on an emulated "
      "Cortex-M7: give --run R (the folder of nasx train)\n"),
     (["--space", "tiny", "--device", "rpi4"],
      "nasx: error: device 'rpi4' is not this machine, so it cannot be measured; its latency "
      "comes from the analytic model, labelled 'roofline estimate' (`nasx cost --device "
      "rpi4`); measure with --device host-cpu\n"),
     (["--space", "tiny", "--samples", "0"],
      "nasx profile: error: argument --samples: invalid value '0': give an integer >= 1; see "
      "'nasx profile --help'\n"),
     (["--space", "tiny", "--samples", "many"],
      "nasx profile: error: argument --samples: invalid value 'many': give an integer >= 1; "
      "see 'nasx profile --help'\n"),
     (["--space", "tiny", "--runtime", "c"],
      "nasx: error: --runtime c: the C runtime is not timed by nasx profile yet (its host "
      "build has no timing entry point); measure one of onnxruntime, torch, pt2\n"),
     (["--space", "tiny", "--runtime", "tflite"],
      "nasx profile: error: argument --runtime: invalid choice: 'tflite' (choose from "
      "'onnxruntime', 'torch', 'pt2', 'c'); see 'nasx profile --help'\n"),
     (["--samples", "5"],
      "nasx profile: error: one of the arguments --run --space is required; see 'nasx profile "
      "--help'\n")],
)
def test_errors_are_one_line_with_exit_2(capsys, argv: list[str], message: str) -> None:
    code, out, err = _run(capsys, "profile", *argv)
    assert (code, out, err) == (2, "", message)


def test_run_that_is_not_a_run_folder(capsys, tmp_path: Path) -> None:
    code, _, err = _run(capsys, "profile", "--run", str(tmp_path))
    assert code == 2
    assert err == (f"nasx: error: '{tmp_path}' is not a nasx train run folder (no config.yaml "
                   "and space.yaml); give the --out folder of nasx train\n")
