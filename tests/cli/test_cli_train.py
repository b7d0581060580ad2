"""`nasx train` and `nasx eval` through the CLI: outputs, config mapping, one-line errors, and a
run killed with SIGKILL mid-epoch that resumes to the weights of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from nasx.cli import main
from nasx.config import RunConfig, load_config
from nasx.runs.checkpoint import load_checkpoint

TINY = ["train.epochs=2", "train.batches_per_epoch=2", "data.batch_size=16",
        "train.calib_batches=1", "train.eval_random=2"]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run trained once for the eval tests."""
    run = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--space", "tiny", "--out", str(run), *TINY]) == 0
    return run


def test_train_prints_epochs_and_a_table(capsys, tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, out, err = _run(capsys, "train", "--space", "tiny", "--data", "japanese-vowels",
                          "--out", run, *TINY)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("epoch 1/2  step 2  loss ")
    assert lines[1].startswith("epoch 2/2  step 4  loss ")
    assert lines[2].split() == ["subnet", "arch", "id", "val", "acc", "val", "loss"]
    assert [line.split()[0] for line in lines[3:7]] == [
        "largest", "smallest", "random-1", "random-2"]
    assert lines[7].startswith(f"run folder: {run} (supernet.safetensors, checkpoints/, tb/); "
                               "2 epochs, 4 steps, ")
    saved = load_config(RunConfig, run / "config.yaml", [])
    assert (saved.space, saved.data.name, saved.train.epochs) == ("tiny", "japanese-vowels", 2)


def test_print_config_maps_the_flags(capsys, tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "train", "--out", tmp_path / "r", "--space", "tiny", "--data",
                        "ucr:GunPoint", "--print-config", "train.shrink=sandwich")
    assert code == 0
    printed = yaml.safe_load(out)
    assert (printed["space"], printed["data"]["name"]) == ("tiny", "ucr:GunPoint")
    assert printed["train"]["shrink"] == "sandwich"
    assert not (tmp_path / "r").exists()


def test_run_folder_errors_are_one_line(capsys, trained: Path, tmp_path: Path) -> None:
    code, out, err = _run(capsys, "train", "--space", "tiny", "--out", trained, *TINY)
    assert (code, out) == (2, "")
    assert err == (f"nasx: error: run folder '{trained}' already exists; pass --resume to "
                   "continue it or --overwrite to replace it\n")
    code, _, err = _run(capsys, "train", "--out", trained, "--resume", "train.lr=0.1")
    assert code == 2
    assert err == (f"nasx: error: --resume continues '{trained}' with its saved config, but "
                   "'train.lr' is 0.1 here and 0.003 there; drop that override, or start a new "
                   "run (--out) or --overwrite\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("seed: 1\n")
    code, _, err = _run(capsys, "train", "--out", trained, "--resume", "--config", cfg)
    assert (code, err) == (2, "nasx: error: --resume uses the run's saved config.yaml; drop "
                              "--config\n")
    code, _, err = _run(capsys, "train", "--out", tmp_path / "new", "train.device=tpu")
    assert (code, err) == (2, "nasx: error: config key 'train.device': unknown device 'tpu' "
                              "(e.g. cpu, cuda, cuda:1)\n")
    assert not (tmp_path / "new").exists()


def test_resume_of_a_finished_run_says_so(capsys, trained: Path) -> None:
    before = (trained / "supernet.safetensors").read_bytes()
    code, out, _ = _run(capsys, "train", "--out", trained, "--resume")
    assert code == 0
    assert f"run {trained} had already finished its 2 epochs" in out
    assert (trained / "supernet.safetensors").read_bytes() == before


def test_eval_reproduces_the_validation_of_the_last_epoch(capsys, trained: Path) -> None:
    code, out, err = _run(capsys, "eval", "--run", trained, "--arch", "largest", "--arch",
                          "smallest", "--arch", "random:2", "--format", "json")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    history = json.loads((trained / "history.json").read_text())
    assert [{k: r[k] for k in ("name", "id", "accuracy", "loss", "n")} for r in rows] == (
        history[-1]["val"])
    assert {r["split"] for r in rows} == {"val"}


def test_eval_arch_ids_files_and_test_split(capsys, trained: Path, tmp_path: Path) -> None:
    archs = json.loads((trained / "archs.json").read_text())
    rid = archs["random-2"]["id"]
    arch_file = tmp_path / "mine.json"
    arch_file.write_text(json.dumps(archs["random-2"]["arch"]))
    code, out, _ = _run(capsys, "eval", "--run", trained, "--arch", rid, "--arch", arch_file,
                        "--arch", "random:2", "--split", "test", "--format", "json")
    assert code == 0
    by_id, by_file, r1, r2 = json.loads(out)
    assert (by_id["name"], by_file["name"], r2["name"]) == ("random-2", "mine", "random-2")
    assert by_id["accuracy"] == by_file["accuracy"] == r2["accuracy"]
    assert by_id["id"] == by_file["id"] == rid
    assert {r["n"] for r in (by_id, r1)} == {370}
    assert {r["split"] for r in (by_id, r1)} == {"test"}
    code, out, _ = _run(capsys, "eval", "--run", trained)
    lines = out.splitlines()
    assert lines[0].split() == ["subnet", "arch", "id", "val", "acc", "val", "loss", "n"]
    assert [line.split()[0] for line in lines[1:]] == ["largest", "smallest"]
    assert lines[1].split()[1] == archs["largest"]["id"]


def test_random_k_beyond_the_monitored_ones_extends_the_same_stream(capsys, trained: Path
                                                                    ) -> None:
    code, out, _ = _run(capsys, "eval", "--run", trained, "--arch", "random:4", "--format",
                        "json")
    assert code == 0
    rows = json.loads(out)
    archs = json.loads((trained / "archs.json").read_text())
    assert [r["id"] for r in rows[:2]] == [archs["random-1"]["id"], archs["random-2"]["id"]]
    assert len({r["id"] for r in rows}) == 4


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("random:0", "--arch random:0: give at least one random subnet (random:1)"),
        ("biggest", "--arch 'biggest': expected largest, smallest, random:K, an arch id from "
                    "the run's archs.json or an arch JSON file"),
    ],
)
def test_eval_bad_specs(capsys, trained: Path, spec: str, message: str) -> None:
    code, out, err = _run(capsys, "eval", "--run", trained, "--arch", spec)
    assert (code, out, err) == (2, "", f"nasx: error: {message}\n")


def test_eval_unknown_id_and_non_run_folder(capsys, trained: Path, tmp_path: Path) -> None:
    code, _, err = _run(capsys, "eval", "--run", trained, "--arch", "0123456789ab")
    assert code == 2
    assert err.startswith(f"nasx: error: --arch 0123456789ab: no arch with this id in "
                          f"{trained / 'archs.json'} (known: ")
    assert err.endswith("); give an arch JSON file instead\n") and err.count("\n") == 1
    code, _, err = _run(capsys, "eval", "--run", tmp_path)
    assert (code, err) == (2, f"nasx: error: '{tmp_path}' is not a nasx train run folder (no "
                              "config.yaml and space.yaml); give the --out folder of nasx "
                              "train\n")


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    args = ["--space", "tiny", "train.epochs=2", "data.batch_size=16", "train.calib_batches=1",
            "train.eval_random=1"]
    reference = tmp_path / "reference"
    assert main(["train", "--out", str(reference), *args]) == 0
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "nasx", "train", "--out", str(killed), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("epoch 1/2"):
                break
        else:
            pytest.fail("the training process ended before its first epoch line")
        try:
            proc.wait(timeout=0.3)  # well inside epoch 2 (14 steps)
        except subprocess.TimeoutExpired:
            pass
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert load_checkpoint(killed / "checkpoints" / "last.pt")["epoch"] == 1
    assert not (killed / "supernet.safetensors").exists()
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"resuming {killed} at epoch 1/2 (step 14)\n")
    a = load_file(reference / "supernet.safetensors")
    b = load_file(killed / "supernet.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
