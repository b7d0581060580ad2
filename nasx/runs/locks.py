"""The lock of a run folder: one nasx command at a time works on a run.

The lock is an ``flock`` on ``<parent>/.<name>.nasx-lock``, beside the run folder so that
``nasx train --overwrite`` can replace the folder while holding it. The operating system drops
an ``flock`` when the process ends however it ends, and the command removes the file when it
finishes, so no lock file is left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from nasx.errors import RunError
from nasx.runs.folders import _umask
from nasx.runs.layout import LOCK_FILE

_HELD_LOCKS: set[str] = set()  # run folders this process holds (run_lock is re-entrant)


def lock_path(run_dir: Path) -> Path:
    """The lock file of ``run_dir``: beside it (``runs/.<name>.nasx-lock``), so that
    ``--overwrite`` can replace the folder while the lock is held."""
    return run_dir.parent / f".{run_dir.name}{LOCK_FILE}"


def _acquire(target: Path, run_dir: Path) -> int:
    """An open descriptor holding the ``flock`` of ``target`` (retrying when the holder
    removed the file between our open and our lock)."""
    while True:
        fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise RunError(f"run folder '{run_dir}' is in use by another nasx process "
                           f"({holder}); wait for it to finish or pick another folder") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(target).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # locked a file its holder had just removed: try the new one


@contextlib.contextmanager
def run_lock(run_dir: Path, command: str) -> Iterator[None]:
    """Hold the exclusive lock of ``run_dir`` while the block runs.

    The parent folder of ``run_dir`` must exist (``nasx train`` creates it first). The lock
    file is removed when the block ends. Re-entrant within one process (``nasx quickstart``
    holds it across train, search and export).

    Raises:
        RunError: another process holds the lock (its pid and command are named), or the
            parent folder does not exist.
    """
    key = str(run_dir.resolve())
    if key in _HELD_LOCKS:
        yield
        return
    target = lock_path(run_dir)
    if not target.parent.is_dir():
        raise RunError(f"run folder '{run_dir}': its folder '{target.parent}' does not exist; "
                       "check the path")
    fd = _acquire(target, run_dir)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, nasx {command}\n".encode(), 0)
        _HELD_LOCKS.add(key)
        try:
            yield
        finally:
            _HELD_LOCKS.discard(key)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)  # while still locked: a waiting process retries (_acquire)
    finally:
        os.close(fd)  # closing the descriptor releases the flock
