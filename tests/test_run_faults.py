"""Faults around run folders: a second process on a locked run folder, a failed write (a real
file-size limit, as a full disk would fail it) that keeps the previous file, and the backup kept
by ``atomic_write_bytes``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nasx.errors import RunError
from nasx.runs import atomic_write_bytes, lock_path, run_lock

HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from nasx.runs import run_lock
    with run_lock(Path(sys.argv[1]), "train"):
        print("locked", flush=True)
        time.sleep(60)
""")


def test_a_second_process_on_a_locked_run_folder_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "a"
    run.parent.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(RunError) as err:
            with run_lock(run, "search"):
                pass
        assert str(err.value) == (
            f"run folder '{run}' is in use by another nasx process (pid {holder.pid}, nasx "
            "train); wait for it to finish or pick another folder")
    finally:
        holder.kill()
        holder.wait()
    # the killed holder's lock is gone with it: no stale lock
    with run_lock(run, "search"):
        assert lock_path(run).read_text() == f"pid {os.getpid()}, nasx search\n"
    assert not lock_path(run).exists()  # removed when the command ends


def test_no_lock_file_is_left_behind_and_none_without_a_parent(tmp_path: Path) -> None:
    # before: every command left runs/.NAME.nasx-lock behind, and the lock made missing folders
    run = tmp_path / "a"
    with run_lock(run, "train"):
        assert lock_path(run).is_file()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RunError, match="does not exist; check the path"):
        with run_lock(tmp_path / "no" / "such" / "run", "search"):
            pass
    assert list(tmp_path.iterdir()) == []


def test_a_lock_removed_by_its_holder_is_not_shared(tmp_path: Path, monkeypatch) -> None:
    # the holder removes the file as it finishes; a process that opened the old file just
    # before must not take a lock on it (a third process may lock the new file meanwhile)
    import fcntl

    from nasx.runs import locks

    run = tmp_path / "a"
    target = lock_path(run)
    calls = []
    real_flock = fcntl.flock

    def flock_after_the_holder_left(fd: int, op: int) -> None:
        if not calls:  # the first open got the old file: the holder removes it now
            os.unlink(target)
            target.write_text("pid 1, nasx train\n")  # and another process makes a new one
        calls.append(fd)
        real_flock(fd, op)

    monkeypatch.setattr(locks.fcntl, "flock", flock_after_the_holder_left)
    fd = locks._acquire(target, run)
    assert len(calls) == 2 and os.fstat(fd).st_ino == os.stat(target).st_ino
    os.close(fd)


def test_the_lock_is_re_entrant_in_one_process(tmp_path: Path) -> None:
    run = tmp_path / "a"
    with run_lock(run, "quickstart"), run_lock(run, "train"):
        assert lock_path(run) == tmp_path / ".a.nasx-lock"
    with run_lock(run, "again"):
        pass


def test_backup_keeps_the_replaced_file(tmp_path: Path) -> None:
    target, backup = tmp_path / "last.pt", tmp_path / "prev.pt"
    atomic_write_bytes(target, b"one", backup=backup)
    assert target.read_bytes() == b"one" and not backup.exists()
    atomic_write_bytes(target, b"two", backup=backup)
    atomic_write_bytes(target, b"three", backup=backup)
    assert (target.read_bytes(), backup.read_bytes()) == (b"three", b"two")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "prev.pt"]


FILL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    import torch
    from nasx.errors import RunError
    from nasx.runs.checkpoint import save_checkpoint
    path = Path(sys.argv[1])
    save_checkpoint(path, {"w": torch.zeros(10)})
    save_checkpoint(path, {"w": torch.ones(10)})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so the write fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
    try:
        save_checkpoint(path, {"w": torch.full((100_000,), 2.0)})
    except RunError as err:
        print(err)
""")


def test_a_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    out = subprocess.run([sys.executable, "-c", FILL_DISK, str(path)], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == (f"{path}: could not write the checkpoint (File too large); the previous "
                   "checkpoint is kept; free space or fix the folder, then rerun with --resume")
    from nasx.runs.checkpoint import load_checkpoint

    assert load_checkpoint(path)["w"].tolist() == [1.0] * 10
    assert load_checkpoint(tmp_path / "prev.pt")["w"].tolist() == [0.0] * 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "prev.pt"]  # no temp left


class _Payload:
    """Unpickling this runs ``open(marker, "w")``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_malicious_pickle_in_place_of_a_checkpoint_is_refused(tmp_path: Path) -> None:
    import pickle

    import torch

    from nasx.runs.checkpoint import load_checkpoint

    marker = tmp_path / "pwned"
    for name, write in [("torch.pt", lambda p: torch.save({"x": _Payload(marker)}, p)),
                        ("raw.pt", lambda p: p.write_bytes(pickle.dumps(_Payload(marker))))]:
        path = tmp_path / name
        write(path)
        with pytest.raises(RunError, match=rf"^{path}: not a readable checkpoint \("):
            load_checkpoint(path)
        assert not marker.exists()  # the payload never ran
