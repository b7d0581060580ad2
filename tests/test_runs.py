"""Run folders and atomic writes."""

from __future__ import annotations

import os

import pytest

from nasx.config import RunConfig, dump_config, load_config
from nasx.errors import RunError
from nasx.runs import (
    RUN_MARKER,
    atomic_write_bytes,
    atomic_write_text,
    prepare_run_dir,
    write_resolved_config,
)


def _run_error(path, **flags) -> str:
    with pytest.raises(RunError) as err:
        prepare_run_dir(path, **flags)
    return str(err.value)


def _old_run(path):
    (path / "checkpoints").mkdir(parents=True)
    (path / "config.yaml").write_text("seed: 1\n")
    (path / RUN_MARKER).write_text("")
    (path / "checkpoints" / "last.pt").write_bytes(b"old")
    return path


def test_new_folder_is_created_with_parents(tmp_path):
    path = tmp_path / "runs" / "a"
    assert prepare_run_dir(path, overwrite=False, resume=False) == path
    assert path.is_dir() and [p.name for p in path.iterdir()] == [RUN_MARKER]


def test_empty_existing_folder_is_used(tmp_path):
    assert prepare_run_dir(tmp_path, overwrite=False, resume=False) == tmp_path


def test_existing_run_needs_a_flag(tmp_path):
    path = _old_run(tmp_path / "x")
    assert _run_error(path, overwrite=False, resume=False) == (
        f"run folder '{path}' already exists; pass --resume to continue it "
        "or --overwrite to replace it"
    )
    assert (path / "checkpoints" / "last.pt").read_bytes() == b"old"


def test_resume_keeps_everything(tmp_path):
    path = _old_run(tmp_path / "x")
    assert prepare_run_dir(path, overwrite=False, resume=True) == path
    assert (path / "checkpoints" / "last.pt").read_bytes() == b"old"


def test_resume_needs_something_to_resume(tmp_path):
    path = tmp_path / "x"
    assert _run_error(path, overwrite=False, resume=True) == (
        f"run folder '{path}' has nothing to resume; drop --resume to start it"
    )
    assert not path.exists()


def test_both_flags(tmp_path):
    assert _run_error(tmp_path, overwrite=True, resume=True) == (
        "--overwrite and --resume cannot be used together; pick one"
    )


def test_overwrite_replaces_the_old_run(tmp_path):
    path = _old_run(tmp_path / "x")
    assert prepare_run_dir(path, overwrite=True, resume=False) == path
    assert [p.name for p in path.iterdir()] == [RUN_MARKER]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]  # nothing left beside it


def test_overwrite_refuses_folders_that_are_not_runs(tmp_path):
    path = tmp_path / "photos"
    path.mkdir()
    (path / "cat.jpg").write_bytes(b"meow")
    (path / "config.yaml").write_text("seed: 1\n")  # a common name: not enough to be a run
    assert _run_error(path, overwrite=True, resume=False) == (
        f"refusing to overwrite '{path}': it is not a nasx run folder (no .nasx-run marker); "
        "remove it yourself or pick another path"
    )
    assert (path / "cat.jpg").read_bytes() == b"meow"


def test_overwrite_refuses_the_current_folder(tmp_path, monkeypatch):
    run = _old_run(tmp_path / "x")
    monkeypatch.chdir(run / "checkpoints")
    assert _run_error(run, overwrite=True, resume=False) == (
        f"refusing to overwrite '{run}': it contains the current folder; pick another path"
    )
    assert (run / "checkpoints" / "last.pt").is_file()


def test_a_file_is_not_a_run_folder(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    assert _run_error(path, overwrite=True, resume=False) == (
        f"run folder '{path}' is a file; pick another path"
    )


def test_write_resolved_config_reads_back(tmp_path):
    cfg = load_config(RunConfig, None, ["seed=9", "data.batch_size=4"])
    path = write_resolved_config(tmp_path, cfg)
    assert path == tmp_path / "config.yaml"
    assert path.read_text() == dump_config(cfg)
    assert load_config(RunConfig, path, []) == cfg
    assert os.listdir(tmp_path) == ["config.yaml"]


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    atomic_write_text(tmp_path / "b.txt", "héllo")
    assert target.read_bytes() == b"two"
    assert (tmp_path / "b.txt").read_bytes() == "héllo".encode()
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "b.txt"]


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644


def test_failed_atomic_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]
