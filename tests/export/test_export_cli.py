"""``nasx export`` on a tiny trained run: files, metrics, verification, no silent overwrite,
nothing written on a mismatch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from tiny_run import TINY_TRAIN, train_tiny_run

from nasx.cli import main
from nasx.export import verify


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export-cli") / "run"
    return train_tiny_run(out)


def _ids(run: Path) -> dict[str, str]:
    return {k: v["id"] for k, v in json.loads((run / "archs.json").read_text()).items()}


def _leftovers(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "exports").iterdir() if p.name.startswith("."))



def _test_accuracy_by_eval(capsys: pytest.CaptureFixture[str], run: Path, arch: str) -> float:
    """The test accuracy ``nasx eval --split test`` reports for ``arch`` of ``run``."""
    capsys.readouterr()
    assert main(["eval", "--run", str(run), "--arch", arch, "--split", "test",
                 "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)[0]["accuracy"]

def test_export_writes_verified_files_and_never_overwrites_silently(
        run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    smallest = _ids(run)["smallest"]  # quantized (lowest bits), trained every step
    args = ["export", "--run", str(run), "--pick", smallest, "--format", "torch,c",
            "--device", "stm32f746"]
    assert main(args) == 0
    folder = run / "exports" / smallest
    assert sorted(p.name for p in folder.iterdir()) == [
        "arch.json", "golden.h", "main.c", "metrics.json", "model.c", "model.h",
        "model.safetensors", "runtime"]
    m = json.loads((folder / "metrics.json").read_text())
    assert "runtime/nasx_conv.c" in m["files"] and m["verification"]["c"]["arena_bytes"] > 0
    assert m["verification"]["c"]["run_peak_bytes"] == m["verification"]["c"]["arena_bytes"]
    assert m["id"] == smallest and m["pick"]["source"].endswith("archs.json (smallest)")
    assert m["accuracy"]["val"] == m["accuracy"]["supernet_val"]
    assert all(v["passed"] for k, v in m["verification"].items() if "passed" in v)
    if shutil.which("cc"):  # the C runtime was built and run on the golden inputs
        m7 = m["verification"]["c"]["cortex-m7"]
        assert set(m["verification"]) == {"torch", "c", "c-host", "streaming",
                                          *(["c-m7"] if m7["measured"] else [])}
        if m7["measured"]:  # cross toolchain + QEMU installed: the M7 argmax is the host's
            assert m["verification"]["c-m7"]["argmax_agreement"] == 1.0
            assert m7["flash_bytes"] > 0 and m7["instructions_median"] > 0
        assert m["verification"]["c"]["compiler"].startswith(
            "cc -std=c99 -Wall -Wextra -pedantic -Werror")
        host = m["verification"]["c-host"]  # the smallest subnet has 8-bit activations
        assert host["passed"] and host["argmax_agreement"] >= 0.99
        assert host["n"] == m["data"]["val"] == m["verification"]["c"]["golden"]
    else:
        assert set(m["verification"]) == {"torch", "c", "streaming"}
    assert m["verification"]["streaming"]["reason"].startswith("not streamable: stem (conv)")
    assert set(m["cost"]) == {"stm32f746"}
    assert set(m["cost"]["stm32f746"]) == {"whole-sequence", "streaming"}
    assert m["latency"]["measured_ms"]["torch"] > 0
    assert "host-cpu" in m["latency"]["predicted"]
    before = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == (f"nasx: error: {folder} already exists (an earlier export of this subnet); "
                   "pass --overwrite to replace it\n")
    assert {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert main([*args[:-2], "--format", "torch", "--overwrite"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "arch.json", "metrics.json", "model.safetensors"]
    assert _leftovers(run) == []


def test_onnx_export_runs_in_onnxruntime_and_reports_latency(run: Path) -> None:
    largest = _ids(run)["largest"]
    assert main(["export", "--run", str(run), "--pick", largest, "--format", "onnx"]) == 0
    m = json.loads((run / "exports" / largest / "metrics.json").read_text())
    onnx = m["verification"]["onnx"]
    assert onnx["passed"] and onnx["max_abs_diff"] <= 1e-5 and onnx["rule"] == "max|diff| <= 1e-05"
    assert m["latency"]["measured_ms"]["onnxruntime"] > 0
    assert set(m["cost"]) == {"host-cpu"}  # default device when the pick names none


def test_raw_test_data_through_every_format_scores_what_nasx_eval_reports(
        run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasx.export import load_exported
    from nasx.export.graph_formats import load_pt2, onnx_session, run_onnx
    from nasx.export.metrics import accuracy, batched_logits
    from nasx.export.preprocess import raw_splits
    from nasx.runs.trained import load_trained_run

    pick = _ids(run)["largest"]
    assert main(["export", "--run", str(run), "--pick", pick, "--format", "pt2,onnx",
                 "--overwrite"]) == 0
    want = _test_accuracy_by_eval(capsys, run, pick)
    folder = run / "exports" / pick
    m = json.loads((folder / "metrics.json").read_text())
    assert m["input"]["normalization"] == "channel" and len(m["input"]["mean"]) == 12
    assert m["input"]["classes"] == [str(i) for i in range(1, 10)]
    trained = load_trained_run(run)
    raw = raw_splits(trained.cfg).test  # as the user gave it: not normalised
    assert float((raw.x - trained.splits.test.x).abs().max()) > 0.5  # really raw
    assert torch.equal(raw.y, trained.splits.test.y)
    net = load_exported(folder)
    session = onnx_session(folder / "model.onnx")
    got = {"load_exported": accuracy(batched_logits(net, raw), raw.y),
           "pt2": accuracy(batched_logits(load_pt2(folder / "model.pt2"), raw,
                                          m["verification"]["pt2"]["min_length"]), raw.y),
           "onnx": accuracy(batched_logits(lambda x, n: run_onnx(session, x, n), raw), raw.y)}
    assert got == {k: want for k in got} and m["accuracy"]["test"] == want


def test_a_mismatch_is_an_error_and_nothing_is_written(
        run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    random1 = _ids(run)["random-1"]
    monkeypatch.setattr(verify, "FLOAT_TOL", -1.0)  # no float format can pass now
    monkeypatch.setattr(verify, "MIN_AGREEMENT", 1.01)
    assert main(["export", "--run", str(run), "--pick", random1, "--format", "torch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nasx: error: export of {random1} does not match the supernet subnet:"
                          " torch: max|diff| ")
    assert err.endswith("; nothing was written\n") and err.count("\n") == 1
    assert not (run / "exports" / random1).exists() and _leftovers(run) == []


def test_bad_arguments_are_one_line_errors(run: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    base = ["export", "--run", str(run), "--pick", _ids(run)["largest"]]
    assert main([*base, "--format", "torch,tflite"]) == 2
    assert capsys.readouterr().err == ("nasx: error: --format 'tflite': unknown format (allowed: "
                                       "torch, pt2, onnx, c)\n")
    assert main([*base, "--device", "no-such-device"]) == 2
    assert "no-such-device" in capsys.readouterr().err
    assert main(["export", "--run", str(run), "--pick", "3"]) == 2
    assert "an index needs" in capsys.readouterr().err


def test_a_causal_run_exports_a_verified_streaming_form(tmp_path: Path) -> None:
    from nasx.search_spaces import dump_space_yaml, load_space, space_from_dict, space_to_dict

    raw = space_to_dict(load_space("tiny"))
    raw.update(name="tiny-causal", causal=True)
    space_file = tmp_path / "tiny-causal.yaml"
    space_file.write_text(dump_space_yaml(space_from_dict(raw)))
    run = tmp_path / "causal"
    train = [a if a != "tiny" else str(space_file) for a in TINY_TRAIN]
    assert main(["train", "--out", str(run), *train]) == 0
    largest = _ids(run)["largest"]
    assert main(["export", "--run", str(run), "--pick", largest, "--format", "onnx,c"]) == 0
    m = json.loads((run / "exports" / largest / "metrics.json").read_text())
    stream = m["verification"]["streaming"]
    assert stream["streamable"] and stream["passed"] and stream["max_abs_diff"] <= 1e-5
    assert stream["n"] == m["data"]["val"]
    # the streaming artefacts: ONNX step graph and the C step, after every frame
    step = m["verification"]["onnx-step"]
    assert "model_step.onnx" in m["files"] and step["passed"]
    assert step["max_abs_diff"] <= 1e-5 and step["n"] >= 8  # frames of 8 validation samples
    if shutil.which("cc"):
        assert m["verification"]["c"]["stream_step_max_abs_diff"] <= 1e-4


def test_a_series_normalised_run_exports_a_model_of_raw_data(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasx.export import load_exported
    from nasx.export.metrics import accuracy, batched_logits
    from nasx.export.preprocess import raw_splits
    from nasx.runs.trained import load_trained_run

    run = tmp_path / "series"
    assert main(["train", "--out", str(run), *TINY_TRAIN, "data.normalize=series"]) == 0
    largest = _ids(run)["largest"]
    assert main(["export", "--run", str(run), "--pick", largest, "--format", "torch"]) == 0
    want = _test_accuracy_by_eval(capsys, run, largest)
    folder = run / "exports" / largest
    m = json.loads((folder / "metrics.json").read_text())
    assert m["input"]["normalization"] == "series" and m["accuracy"]["test"] == want
    raw = raw_splits(load_trained_run(run).cfg).test
    assert accuracy(batched_logits(load_exported(folder), raw), raw.y) == want
