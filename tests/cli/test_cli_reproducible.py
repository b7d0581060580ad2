"""Reproducibility across processes: the same seed gives byte-identical CPU training and the
same sampled archs, whatever PYTHONHASHSEED is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

TINY = ["--space", "tiny", "train.epochs=2", "train.batches_per_epoch=3", "data.batch_size=16",
        "train.calib_batches=1", "train.eval_random=1", "train.delay=0.3", "seed=7"]


def _nasx(args: list[str], hashseed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    return subprocess.run([sys.executable, "-m", "nasx", *args], env=env, check=True,
                          capture_output=True, text=True).stdout


def test_two_processes_train_bit_identical_supernets(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _nasx(["train", "--out", str(a), *TINY], "1")
    _nasx(["train", "--out", str(b), *TINY], "2")
    wa, wb = load_file(a / "supernet.safetensors"), load_file(b / "supernet.safetensors")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)  # every weight and buffer, bit for bit
    # (the files' bytes may differ: safetensors writes its metadata map in hash order)
    assert (a / "archs.json").read_text() == (b / "archs.json").read_text()
    ha = json.loads((a / "history.json").read_text())
    hb = json.loads((b / "history.json").read_text())
    assert [h["val"] for h in ha] == [h["val"] for h in hb]


def test_sampled_archs_do_not_depend_on_the_process() -> None:
    args = ["space", "sample", "hybrid-mcu", "--random", "20", "--seed", "3"]
    assert _nasx(args, "1") == _nasx(args, "99")
