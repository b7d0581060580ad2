"""Run folders (``runs/<name>/``): creating them, and atomic file writes.

A run folder holds ``config.yaml`` (the resolved config) and whatever the run writes next
(checkpoints, search results, exports). Every file is written atomically: to a temporary
file in the same folder, flushed and fsynced, then moved over the target with
``os.replace``, so a crash leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from nasx.config import dump_config
from nasx.errors import RunError
from nasx.runs.layout import CONFIG_FILE, RUN_MARKER


def atomic_write_bytes(path: str | Path, data: bytes, *, backup: str | Path | None = None) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, replace).

    The parent folder must exist. On any error (a full disk included) the temporary file is
    removed and ``path`` is left as it was. With ``backup``, an existing ``path`` becomes
    ``backup`` (through a hard link, so ``path`` never goes missing) once the new data is
    safely on disk, just before ``path`` is replaced.
    """
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if backup is not None and target.is_file():
            _link_over(target, Path(backup))
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_folder(target.parent)


def _link_over(source: Path, target: Path) -> None:
    """Make ``target`` a hard link to ``source``, replacing ``target`` in one rename."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.link")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.link(source, tmp)
    os.replace(tmp, target)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode(encoding))


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _guard_overwrite(path: Path) -> None:
    """Refuse to delete folders that are not nasx run folders or that hold the cwd."""
    here = Path.cwd().resolve()
    resolved = path.resolve()
    if resolved == here or resolved in here.parents:
        raise RunError(
            f"refusing to overwrite '{path}': it contains the current folder; pick another path"
        )
    if not (path / RUN_MARKER).is_file():
        raise RunError(
            f"refusing to overwrite '{path}': it is not a nasx run folder (no {RUN_MARKER} "
            "marker); remove it yourself or pick another path"
        )


def prepare_run_dir(path: Path, *, overwrite: bool, resume: bool) -> Path:
    """Create (or reuse, or replace) the run folder ``path`` and return it.

    - New or empty folder: created; both flags are ignored except together.
    - Non-empty folder: ``resume`` reuses it as it is; ``overwrite`` deletes its contents
      and starts empty (only a folder that has a ``config.yaml``, i.e. a nasx run, and that
      does not contain the current folder); neither is an error.

    Call this only after the config, data and search space were validated: with
    ``overwrite`` the old run is gone once it returns.

    Raises:
        RunError: both flags, a non-empty folder without a flag, ``resume`` of a folder
            that does not exist or is empty, a path that is a file, or a refused overwrite.
    """
    if overwrite and resume:
        raise RunError("--overwrite and --resume cannot be used together; pick one")
    if path.exists() and not path.is_dir():
        raise RunError(f"run folder '{path}' is a file; pick another path")
    used = path.is_dir() and any(path.iterdir())
    if resume:
        if not used:
            raise RunError(f"run folder '{path}' has nothing to resume; drop --resume to start it")
        return path
    if used and not overwrite:
        raise RunError(
            f"run folder '{path}' already exists; pass --resume to continue it "
            "or --overwrite to replace it"
        )
    if used:
        _guard_overwrite(path)
        trash = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.overwritten-"))
        os.replace(path, trash / path.name)  # the old run leaves `path` in one rename
        path.mkdir()
        shutil.rmtree(trash)
    else:
        path.mkdir(parents=True, exist_ok=True)
    (path / RUN_MARKER).write_text("nasx run folder: nasx --overwrite may replace it\n")
    return path


def write_resolved_config(run_dir: Path, cfg: Any) -> Path:
    """Write ``cfg`` as YAML to ``run_dir/config.yaml`` atomically and return that path."""
    target = run_dir / CONFIG_FILE
    atomic_write_text(target, dump_config(cfg))
    return target
