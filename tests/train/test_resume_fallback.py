"""``--resume`` when the latest checkpoint is corrupt: it falls back to the previous one and
still ends with the weights of an uninterrupted run; with no good checkpoint it names the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nasx.config import RunConfig, load_config
from nasx.errors import RunError
from nasx.train import loop
from nasx.train.loop import train_supernet

TINY = ["space=tiny", "train.epochs=2", "train.batches_per_epoch=2", "data.batch_size=16",
        "train.delay=0.25", "train.eps_warmup=0.5", "train.calib_batches=1",
        "train.eval_random=1"]


def _cfg() -> RunConfig:
    return load_config(RunConfig, None, TINY)


def _crash_after_checkpoints(run: Path, n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save, saved = loop.save_checkpoint, []

    def save(path: Path, state: dict) -> None:
        real_save(path, state)
        saved.append(path)
        if len(saved) == n:
            raise KeyboardInterrupt  # the process dies right after its n-th checkpoint

    monkeypatch.setattr(loop, "save_checkpoint", save)
    with pytest.raises(KeyboardInterrupt):
        train_supernet(_cfg(), run)
    monkeypatch.setattr(loop, "save_checkpoint", real_save)


def test_a_corrupt_last_checkpoint_falls_back_to_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = tmp_path / "full"
    train_supernet(_cfg(), full)
    run = tmp_path / "run"
    _crash_after_checkpoints(run, 2, monkeypatch)
    last = run / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:100])  # truncated, as a torn copy would leave it
    lines: list[str] = []
    result = train_supernet(_cfg(), run, resume=True, log=lines.append)
    assert lines[0].startswith(f"warning: {last}: not a readable checkpoint (")
    assert lines[0].endswith(f"; resuming from {run / 'checkpoints' / 'prev.pt'} instead")
    assert lines[1] == f"resuming {run} at epoch 1/2 (step 2)"
    assert result.start_epoch == 1
    a, b = load_file(full / "supernet.safetensors"), load_file(run / "supernet.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_no_readable_checkpoint_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    _crash_after_checkpoints(run, 1, monkeypatch)
    last = run / "checkpoints" / "last.pt"
    last.write_bytes(b"garbage")
    with pytest.raises(RunError, match=rf"^{last}: not a readable checkpoint \(.*\); delete it"):
        train_supernet(_cfg(), run, resume=True)
    assert last.read_bytes() == b"garbage"  # nothing was overwritten
