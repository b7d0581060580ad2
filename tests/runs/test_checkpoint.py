"""Checkpoints: exact round trip (weights, optimizer, RNGs), weights_only loading, clear errors."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from nasx.errors import RunError
from nasx.runs.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state


def test_round_trip_restores_every_rng(tmp_path: Path) -> None:
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters())
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"model": net.state_dict(), "optimizer": opt.state_dict(),
                           "rng": rng_state(), "step": 7, "history": "[]"})
    want = (torch.rand(5), np.random.rand(5), [random.random() for _ in range(5)])
    state = load_checkpoint(path)
    set_rng_state(state["rng"])
    got = (torch.rand(5), np.random.rand(5), [random.random() for _ in range(5)])
    assert torch.equal(want[0], got[0])
    assert np.array_equal(want[1], got[1])
    assert want[2] == got[2]
    assert state["step"] == 7 and state["format"] == "nasx-train-checkpoint-1"
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state["model"].items())
    opt2 = torch.optim.AdamW(net.parameters())
    opt2.load_state_dict(state["optimizer"])
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"],
                       opt.state_dict()["state"][0]["exp_avg"])
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left


class Evil:
    """Anything that is not a tensor, number, string or container must be refused."""


def test_unpickling_arbitrary_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": "nasx-train-checkpoint-1", "x": Evil()}, path)
    with pytest.raises(RunError, match=r"evil.pt: not a readable checkpoint \(.*\); delete it"):
        load_checkpoint(path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_truncated_foreign_and_missing_files(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    save_checkpoint(good, {"step": 1})
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:50])
    with pytest.raises(RunError, match=r"cut\.pt: not a readable checkpoint"):
        load_checkpoint(cut)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(1)}, foreign)
    with pytest.raises(RunError, match="not a nasx training checkpoint"):
        load_checkpoint(foreign)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(RunError, match=r"raw\.pt: not a readable checkpoint"):
        load_checkpoint(raw)
    with pytest.raises(RunError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.pt")
