"""A run on the user's own npz data: portable across working folders, and bound to the data it
was trained on by the arrays' SHA-256 (issue 20, items 1 and 2)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tiny_run import TINY_TRAIN

from nasx.cli import main

BUDGET = "stm32f746: sram<=256KB, flash<=1MB"
SEARCH = ["--budgets", BUDGET, "--evaluations", "100", "--population", "20", "--validate", "1",
          "--rounds", "1"]


def _data(seed: int = 0) -> dict[str, np.ndarray]:
    """3 classes of noisy sines, 3 channels, length 24: 60 train and 24 test sequences."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 3
        t = np.linspace(0, 2 * np.pi, 24)
        x = np.sin((y[:, None, None] + 1) * t[None, None, :]) + 0.3 * rng.standard_normal(
            (n, 3, 24))  # (N, 3, 24)
        return x.astype(np.float32), y

    x, y = split(60)
    x_test, y_test = split(24)
    return {"X": x, "y": y, "X_test": x_test, "y_test": y_test}


@pytest.fixture(scope="module")
def byo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tiny run trained on ``npz:data/good.npz``, a path relative to the folder ``nasx
    train`` ran in; its accuracy predictor fitted."""
    home = tmp_path_factory.mktemp("home")
    (home / "data").mkdir()
    np.savez(home / "data" / "good.npz", **_data())
    cwd = Path.cwd()
    os.chdir(home)
    try:
        assert main(["train", "--out", "runs/byo", *TINY_TRAIN,
                     "data.name=npz:data/good.npz"]) == 0
        assert main(["predictor", "fit", "--run", "runs/byo", "--samples", "10", "--holdout",
                     "10", "--model", "ridge"]) == 0
    finally:
        os.chdir(cwd)
    yield home / "runs" / "byo"


def _copy(run: Path, tmp_path: Path) -> Path:
    """A private copy of ``run`` (its data stays where it is)."""
    dst = tmp_path / "elsewhere" / "byo"
    shutil.copytree(run, dst)
    return dst


def test_the_run_stores_its_data_path_absolute(byo_run: Path) -> None:
    data = byo_run.parent.parent / "data" / "good.npz"
    assert f"name: npz:{data}\n" in (byo_run / "config.yaml").read_text()
    record = json.loads((byo_run / "data.json").read_text())
    assert record["dataset"] == f"npz:{data}"
    assert set(record["sha256"]) == {"X", "y", "lengths", "X_test", "y_test", "lengths_test",
                                     "all"}
    assert not list(byo_run.parent.glob(".*nasx-lock"))  # item 6: no lock left behind


def test_eval_search_and_export_from_three_working_folders(
        byo_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # before: config.yaml kept npz:data/good.npz as typed, and every command run from another
    # folder failed with "npz file 'data/good.npz' not found"
    run = _copy(byo_run, tmp_path)
    folders = [tmp_path / "a", tmp_path / "b" / "c", Path("/")]
    evals = []
    for i, folder in enumerate(folders):
        folder.mkdir(parents=True, exist_ok=True)
        monkeypatch.chdir(folder)
        assert main(["eval", "--run", str(run), "--arch", "largest", "--format", "json"]) == 0
        evals.append(json.loads(capsys.readouterr().out))
        assert main(["search", "--run", str(run), *SEARCH, "--seed", str(i),
                     *(["--overwrite"] if i else [])]) == 0
        assert main(["export", "--run", str(run), "--pick", BUDGET, "--format", "torch",
                     "--overwrite"]) == 0
        capsys.readouterr()
    assert evals[0] == evals[1] == evals[2]  # the same run, the same data: the same result
    assert sorted(p.name for p in (run / "search").iterdir() if p.is_dir()) == \
        ["0001", "0002", "0003"]
    exports = [p for p in (run / "exports").iterdir() if p.is_dir()]
    assert len(exports) >= 1
    record = json.loads((run / "data.json").read_text())
    for folder in exports:  # the accuracy in metrics.json was measured on this data
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["data"]["sha256"] == record["sha256"]["all"]


@pytest.mark.parametrize(("change", "what"), [
    ("labels", "the training labels (y), the test labels (y_test)"),
    ("channels", "the training features (X), the test features (X_test)"),
])
def test_commands_on_changed_data_stop_with_one_line(
        byo_run: Path, tmp_path: Path, change: str, what: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    run = _copy(byo_run, tmp_path)
    data_file = byo_run.parent.parent / "data" / "good.npz"
    original = data_file.read_bytes()
    arrays = _data()
    if change == "labels":
        arrays["y"], arrays["y_test"] = (arrays["y"] + 1) % 3, (arrays["y_test"] + 1) % 3
    else:
        arrays["X"], arrays["X_test"] = arrays["X"][:, ::-1], arrays["X_test"][:, ::-1]
    records = (run / "predictors" / "accuracy-data.jsonl").read_bytes()
    try:
        np.savez(data_file, **arrays)
        expected = (f"nasx: error: data set 'npz:{data_file}' changed since '{run}' was trained "
                    f"on it ({what} differ); restore the data the run was trained on, or train a "
                    "new run on this data\n")
        # before: eval reported an accuracy on the new data and predictor fit appended records
        for argv in (["eval", "--run", str(run)], ["predictor", "fit", "--run", str(run),
                                                   "--samples", "12", "--holdout", "10"],
                     ["search", "--run", str(run), *SEARCH],
                     ["export", "--run", str(run), "--pick", "largest"],
                     ["profile", "--run", str(run), "--device", "host-cpu"]):
            capsys.readouterr()
            assert main(argv) == 2, argv
            assert capsys.readouterr().err == expected, argv
        assert (run / "predictors" / "accuracy-data.jsonl").read_bytes() == records
        assert not (run / "search").exists() and not (run / "exports").exists()
    finally:
        data_file.write_bytes(original)


def test_the_accuracy_data_settings_record_the_data_fingerprint(
        byo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a run from before data.json existed is still guarded by the settings file's digest
    run = _copy(byo_run, tmp_path)
    settings = json.loads((run / "predictors" / "accuracy-data.settings.json").read_text())
    record = json.loads((run / "data.json").read_text())
    assert settings["data_sha256"] == record["sha256"]["all"]
    (run / "data.json").unlink()
    data_file = byo_run.parent.parent / "data" / "good.npz"
    original = data_file.read_bytes()
    try:
        arrays = _data()
        arrays["y"] = (arrays["y"] + 1) % 3
        np.savez(data_file, **arrays)
        capsys.readouterr()
        assert main(["predictor", "fit", "--run", str(run), "--samples", "12", "--holdout",
                     "10"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "measured with other settings" in err
        assert f"data_sha256 {record['sha256']['all'][:12]} -> " in err
    finally:
        data_file.write_bytes(original)


def test_quickstart_stages_show_progress_bars(byo_run: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # before: the profile stage ran without a bar (the predictor's and the search's got
    # progress=False too; theirs show on a terminal only, tqdm's disable=None)
    from nasx.quickstart import PipelineSettings, _profile
    from nasx.runs.trained import load_trained_run

    run = load_trained_run(_copy(byo_run, tmp_path))
    s = PipelineSettings(profile_samples=4, profile_rounds=1, progress=True)
    capsys.readouterr()
    _profile(run, s)
    err = capsys.readouterr().err
    assert "\rprofile:   0%|" in err and "subnet/s]" in err
    quiet = PipelineSettings(profile_samples=4, profile_rounds=1, progress=False)
    _profile(run, quiet)
    assert capsys.readouterr().err == ""


def test_the_latency_profile_records_the_data_fingerprint(byo_run: Path, tmp_path: Path) -> None:
    run = _copy(byo_run, tmp_path)
    assert main(["profile", "--run", str(run), "--samples", "4", "--rounds", "1", "--runtime", "torch", "--warmup",
                 "0", "--repeats", "1"]) == 0
    saved = json.loads((run / "predictors" / "latency-host-cpu-torch.json").read_text())
    record = json.loads((run / "data.json").read_text())
    assert saved["info"]["data_sha256"] == record["sha256"]["all"]


def test_resume_on_changed_data_is_refused(byo_run: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    run = _copy(byo_run, tmp_path)
    data_file = byo_run.parent.parent / "data" / "good.npz"
    original = data_file.read_bytes()
    checkpoint = (run / "checkpoints" / "last.pt").read_bytes()
    try:
        arrays = _data()
        arrays["X"] = arrays["X"] * 2
        np.savez(data_file, **arrays)
        capsys.readouterr()
        assert main(["train", "--out", str(run), "--resume"]) == 2
        assert capsys.readouterr().err.startswith(
            f"nasx: error: data set 'npz:{data_file}' changed since '{run}' was trained on it "
            "(the training features (X) differ)")
        assert (run / "checkpoints" / "last.pt").read_bytes() == checkpoint
    finally:
        data_file.write_bytes(original)


def test_a_run_from_before_with_a_relative_data_path_says_what_to_do(
        byo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _copy(byo_run, tmp_path)
    config = run / "config.yaml"
    data = byo_run.parent.parent / "data" / "good.npz"
    config.write_text(config.read_text().replace(f"npz:{data}", "npz:data/good.npz"))
    assert main(["eval", "--run", str(run)]) == 2
    assert capsys.readouterr().err == (
        f"nasx: error: {config}: data.name npz:data/good.npz is relative to the folder the run "
        "was trained in (written by an older nasx); run the command from that folder, or write "
        "the absolute path into data.name\n")
